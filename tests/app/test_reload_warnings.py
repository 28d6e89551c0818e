"""A running daemon reports a rule edit's likely mistakes as file:line warnings, in its log and to the
operators, while the edited rule goes live as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.daemon import editable_rules_config, running_daemon, until
from tests.feedserver import FeedServer

pytestmark = pytest.mark.e2e


async def test_a_rule_edit_with_a_likely_mistake_is_reported_as_a_warning(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.feeds["wire.xml"] = []
    config, rules = editable_rules_config(tmp_path, feed_server.url("wire.xml"))
    async with running_daemon(config) as daemon:
        await until(lambda: feed_server.requests.get("wire.xml", 0) >= 1, "the first poll")
        path = rules / "iran-talks.yaml"
        path.write_text("id: iran-talks\ntitle: Iran talks\nquery: >\n  Iran near/5 talks\n")
        warning = f"{path}:4: warning: query: 'near/5' is read as the words \"near 5\""
        await until(lambda: any(warning in line for line in daemon.logs), "the warning in the log")
        await until(lambda: any("rules reloaded: 7 in force" in line for line in daemon.logs), "the reload")
        await until(lambda: any(warning in line for line in daemon.out), "the operators' notice")
    assert daemon.returncode == 0, "".join(daemon.logs)
