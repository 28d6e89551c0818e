"""The fast loop (`pytest -m "not e2e"`) leaves out exactly the tests that run processes: a test module that
starts one (newsbot, the fake Bot API, a feed server of its own) carries the `e2e` marker."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).parent
SPAWNS = re.compile(
    r"create_subprocess_exec|subprocess\.(?:run|Popen|check_call|check_output)|running_daemon|DaemonProcess"
    r"|botapi_process|await newsbot\("
)
MARKED = re.compile(r"^pytestmark = .*pytest\.mark\.e2e", re.MULTILINE)


def test_every_module_that_runs_processes_is_marked_e2e() -> None:
    modules = {path: path.read_text(encoding="utf-8") for path in TESTS.rglob("test_*.py") if path != Path(__file__)}
    spawning = [path for path, text in modules.items() if SPAWNS.search(text)]
    unmarked = sorted(str(path.relative_to(TESTS)) for path in spawning if not MARKED.search(modules[path]))
    assert unmarked == [], f"add `pytestmark = pytest.mark.e2e` to: {', '.join(unmarked)}"


def test_the_check_sees_a_spawning_module() -> None:
    assert SPAWNS.search("process = await asyncio.create_subprocess_exec(sys.executable)")
    assert not MARKED.search("pytestmark = pytest.mark.timeout(60)")
