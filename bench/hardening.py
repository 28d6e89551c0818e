"""Issue 13's hostile inputs against the code before the hardening and the current tree, case by case.

    .venv/bin/python bench/hardening.py                      # every case, both trees, about 12 minutes here
    .venv/bin/python bench/hardening.py --only 1a 9          # some cases
    .venv/bin/python bench/hardening.py --baseline 683919c --timeout 30 --memory-gb 3

The baseline ref (default 683919c, the last commit before the hardening) is unpacked with `git archive` into
a temporary folder; the current tree is this checkout. Each case runs once per tree in a child process of
its own, with that tree first on PYTHONPATH, a wall-time cap (SIGKILL to its process group) and an
address-space cap (RLIMIT_AS), so a quadratic case cannot take the machine down. Per run: wall seconds of
the child, its peak RSS (ru_maxrss, which covers the children it reaped), and the outcome: ok, the exit
status and its sentence, the exception of a traceback, killed at the time cap, or out of memory, with what
the case reads afterwards (items stored, the next poll time, processes left, ...). One-shot
commands run through the tree's own `bot.cli.main` inside the child (so the child can time the command
apart from the interpreter's start); daemons run as `python -m bot`. Feeds come from a stdlib HTTP server
in this process on 127.0.0.1: nothing here sends traffic to any other address. The redirect case (7)
calls the current tree's decision function only; the baseline follows every redirect, and showing that
would take a request to another address, so it is not measured.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "bot" / "starter" / "rules"
BASELINE = "683919c"
RESULT_VARIABLE = "HARDENING_RESULT"
MB = 1024 * 1024

# ---------------------------------------------------------------------------------------------- children


def _report(**values: object) -> None:
    """Hand figures to the parent: one JSON line appended to the file it named (it reads them even after
    a kill, so a figure written before the time cap is kept)."""
    with open(os.environ[RESULT_VARIABLE], "a", encoding="utf-8") as out:
        out.write(json.dumps(values) + "\n")


def child_cli(args: list[str]) -> int:
    """The tree's own command line in this process, timed apart from the imports."""
    started = time.perf_counter()
    cli = importlib.import_module("bot.cli")
    imported = time.perf_counter()
    try:
        code: int = cli.main(args)
    finally:
        _report(import_s=imported - started, op_s=time.perf_counter() - imported)
    return code


def child_ingest_lock(args: list[str]) -> int:
    """`poll --once` with the ingest lock timed: how long each ingest holds it, and since when it is held
    (so a run killed at the time cap still tells how long it had held the lock)."""
    import asyncio

    for name in ("bot.ingest.filing", "bot.ingest.batch", "bot.pipeline"):  # the layouts, newest first
        try:
            module = importlib.import_module(name)
            break
        except ModuleNotFoundError:
            continue
    longest = [0.0]

    class TimedLock(asyncio.Lock):
        since = 0.0

        async def acquire(self) -> Literal[True]:
            await super().acquire()
            self.since = time.time()
            _report(held_since=self.since)
            return True

        def release(self) -> None:
            held = time.time() - self.since
            longest[0] = max(longest[0], held)
            _report(held_since=None, longest_hold_s=longest[0])
            super().release()

    filing = getattr(module, "Filing", None) or module.Ingest  # the class that takes the lock, by layout
    original = filing.__init__

    def init(self: Any, *a: Any, **k: Any) -> None:
        original(self, *a, **k)
        self.lock = TimedLock()

    filing.__init__ = init
    return child_cli(args)


def child_call(args: list[str]) -> int:
    """One function of the tree on one string: `MODULE:FUNCTION JSON_STRING` (JSON, so a lone surrogate can
    cross the command line) or `MODULE:FUNCTION --capitals N` ("A" * N)."""
    module_name, name = args[0].split(":")
    function = getattr(importlib.import_module(module_name), name)
    text = "A" * int(args[2]) if args[1] == "--capitals" else json.loads(args[1])
    started = time.perf_counter()
    result = function(text)
    _report(op_s=time.perf_counter() - started, result=repr(result)[:120])
    return 0


def child_redirect(args: list[str]) -> int:
    """The current tree's redirect decision for a feed on address `origin` sent to address `target` (literals:
    nothing is resolved, nothing is sent)."""
    import ipaddress

    addresses = importlib.import_module("bot.fetch.addresses")
    origin, target = (ipaddress.ip_address(a) for a in args)
    _report(result=addresses.refusal([origin], [target]) or "allowed")
    return 0


def child_module(args: list[str]) -> int:
    """`python -m MODULE ARGS` (the daemons: `bot`), after `child` has made sure which tree it runs."""
    import runpy

    sys.argv = args
    runpy.run_module(args[0], run_name="__main__", alter_sys=True)
    return 0


CHILDREN: dict[str, Callable[[list[str]], int]] = {
    "cli": child_cli,
    "ingest-lock": child_ingest_lock,
    "call": child_call,
    "redirect": child_redirect,
    "module": child_module,
}


def child(name: str, args: list[str]) -> int:
    """Run a child in the tree on PYTHONPATH, and only there. The virtualenv's editable install of this
    checkout adds an import hook that would quietly serve any `bot.X` missing from the baseline (say
    `bot.ingest`) from the current tree; it is taken out first, and `bot` is checked to come from the tree.
    (Parse worker processes start a fresh interpreter with the hook, but only import the tree's own modules,
    which the tree has.)"""
    sys.meta_path[:] = [finder for finder in sys.meta_path if "Editable" not in getattr(finder, "__name__", "")]
    tree = Path(os.environ["PYTHONPATH"]).resolve()
    bot = importlib.import_module("bot")
    if not Path(bot.__file__ or "").resolve().is_relative_to(tree):
        raise SystemExit(f"bot comes from {bot.__file__}, not from {tree}")
    return CHILDREN[name](args)

# ------------------------------------------------------------------------------------------ running a child


@dataclass
class Finished:
    """What one run of a case in one tree gave."""

    kind: str  # ok, exit, traceback, oom, timeout, signal, stopped
    outcome: str
    seconds: float
    mb: float
    stdout: str
    stderr: str
    figures: dict[str, Any]
    killed_at: float | None = None


def _first_line(text: str, width: int = 110) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 3] + "..."


EXCEPTION_LINE = re.compile(r"^[ |+]*((?:\w+\.)*[A-Z]\w*(?:Error|Exception|ExceptionGroup|Exit|Interrupt)\b(?::.*)?)$")


def _exception(stderr: str) -> str:
    """The exception of the last traceback, type and first line of its message; in an exception group (its
    lines drawn with | and +), the last exception inside it."""
    lines = stderr[stderr.rfind("Traceback (most recent call last)") :].splitlines()[1:]
    found = [m.group(1) for m in map(EXCEPTION_LINE.match, lines) if m]
    return _first_line(found[-1] if found else lines[-1] if lines else "?")


def _outcome(status: int, stderr: str, timeout: float, timed_out: bool, ended_by: str | None) -> tuple[str, str]:
    if timed_out:
        return "timeout", f"killed at the {timeout:.0f} s cap"
    if "MemoryError" in stderr:
        return "oom", "out of memory (MemoryError at the address-space cap)"
    if "Traceback (most recent call last)" in stderr:
        return "traceback", f"traceback: {_exception(stderr)}"
    if ended_by:
        return "stopped", ended_by
    if os.WIFSIGNALED(status):
        return "signal", f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    code = os.WEXITSTATUS(status)
    if code:  # the one sentence, else the closing line (a poll's summary)
        lines = [line for line in stderr.splitlines() if line.strip()]
        said = next((line for line in lines if line.startswith("newsbot: ")), lines[-1] if lines else "")
        return "exit", f"exit {code}: {_first_line(said)}"
    return "ok", "ok"


@dataclass
class Plan:
    """How to run one case in one tree, and what to read afterwards."""

    argv: list[str]
    describe: Callable[[Finished], str] = lambda _: ""
    stop_after: float | None = None  # SIGTERM (a daemon's clean stop) after this many seconds
    watch: Callable[[int], bool] | None = None  # called while it runs; True: SIGKILL the child alone
    cleanup: Callable[[], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None  # this case's own time cap, when the common one is too short for it


def _set_memory_cap(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def _kill_group(pgid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def child_env(tree: Path, work: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "PYTHONPATH": str(tree),
        "COLUMNS": "200",
        "LANG": "C.UTF-8",
        RESULT_VARIABLE: str(work / "figures.jsonl"),
    }


def run_child(plan: Plan, tree: Path, work: Path, timeout: float, memory: int) -> Finished:
    """Run one child in its own session under the caps, wait for it with wait4 (its rusage), classify."""
    results = work / "figures.jsonl"
    timeout = plan.timeout or timeout
    with open(work / "stdout", "wb") as out, open(work / "stderr", "wb") as err:
        process = subprocess.Popen(
            plan.argv, cwd=work, env={**child_env(tree, work), **plan.env}, stdin=subprocess.DEVNULL, stdout=out,
            stderr=err, preexec_fn=_set_memory_cap(memory), start_new_session=True,
        )  # fmt: skip
    started = time.monotonic()
    timed_out = False
    ended_by = killed_at = None
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            timed_out, killed_at = True, time.time()
            _kill_group(process.pid)
            pid, status, usage = os.wait4(process.pid, 0)
            break
        if plan.stop_after is not None and elapsed > plan.stop_after and ended_by is None:
            ended_by = f"still running at {plan.stop_after:.0f} s, stopped by the bench (SIGTERM)"
            process.send_signal(signal.SIGTERM)  # then the time cap, if it never stops
        if plan.watch is not None and ended_by is None and plan.watch(process.pid):
            ended_by = "kill -9 by the bench"
            process.send_signal(signal.SIGKILL)
        time.sleep(0.05)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stdout = (work / "stdout").read_text(errors="replace")
    stderr = (work / "stderr").read_text(errors="replace").replace(f"{work}/", "")  # messages name config.yaml
    figures: dict[str, Any] = {}
    if results.exists():
        for line in results.read_text().splitlines():
            figures.update(json.loads(line))
    kind, outcome = _outcome(status, stderr, timeout, timed_out, ended_by)
    finished = Finished(kind, outcome, seconds, usage.ru_maxrss / 1024, stdout, stderr, figures, killed_at)
    try:
        detail = plan.describe(finished)
    finally:
        _kill_group(process.pid)  # parse workers and the like that outlived it
        if plan.cleanup is not None:
            plan.cleanup()
    if detail:
        finished.outcome += f"; {detail}"
    return finished


# --------------------------------------------------------------------------------------- the feed server


class FeedServer:
    """A stdlib HTTP server on 127.0.0.1: `/ANY/NAME` answers the route NAME; requests are counted by path."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests[self.path] = server.requests.get(self.path, 0) + 1
                status, headers, body = server.routes.get(self.path.rsplit("/", 1)[-1], (404, {}, b"no such feed"))
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()


def big_feed(items: int) -> bytes:
    """An RSS feed of `items` short items (about 70 bytes each: 100,000 make 7 MB, under the 10 MB cap)."""
    body = "".join(f"<item><title>Story {n}</title><link>http://127.0.0.1/{n}</link></item>" for n in range(items))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>{body}</channel></rss>'.encode()


def serve_cases(main: FeedServer) -> None:
    """The issue's hostile feeds (as the tests of tests/fetch serve them), a normal feed that the shipped
    cyber-attack rule matches, one of 50 items (for the parse workers) and the big one."""
    sys.path.insert(0, str(ROOT))
    from tests.fetch.servers import hostile_routes, rss

    for name, (body, status, headers) in hostile_routes().items():
        if name != "metadata-redirect.xml":  # its Location is 169.254.169.254: never served here
            main.routes[name] = (status, headers, body)
    wire = (200, {"Content-Type": "application/rss+xml"}, rss("Hackers hit the Harbor power grid"))
    main.routes["wire.xml"] = wire
    main.routes["workers.xml"] = (200, {}, rss(*(f"Story {n}" for n in range(50))))
    main.routes["big-100000.xml"] = (200, {"Content-Type": "application/rss+xml"}, big_feed(100_000))


# --------------------------------------------------------------------------------------------- the cases


@dataclass
class Lab:
    """One case in one tree: where it runs and what it may use."""

    label: str
    side: str  # before | after
    tree: Path
    work: Path
    server: FeedServer
    pg_url: str | None

    def feed(self, name: str) -> str:
        """A URL of a served route, unique to this run (so request counts are this run's)."""
        return self.server.url(f"{self.label}-{self.side}/{name}")

    @property
    def database(self) -> Path:
        return self.work / "n.db"

    def config(self, text: str = "", *, feeds: Sequence[str] = (), rules: Path | None = None, **feed: str) -> Path:
        """config.yaml in the work folder: a SQLite file, the starter rules, these feeds polled every second (a
        first poll may alert on the newest 5 items)."""
        extra = "".join(f"    {key}: {value}\n" for key, value in feed.items())
        listed = "".join(
            f"  - url: {url}\n    fulltext: false\n    backlog: 5\n    every: 1s\n{extra}" for url in feeds
        )
        path = self.work / "config.yaml"
        path.write_text(
            f"database: sqlite:///{self.database}\nrules: {rules or RULES}\n"
            + (f"feeds:\n{listed}" if feeds else "")
            + (text or "polling:\n  min_interval: 1s\n  jitter: 0\n")
        )
        return path

    def child(self, name: str, *args: str | Path) -> list[str]:
        return [sys.executable, str(Path(__file__).resolve()), "--child", name, *map(str, args)]

    def cli(self, *args: str | Path) -> list[str]:
        return self.child("cli", *args)

    def prepare(self, *args: str | Path) -> None:
        """Run a command of this tree before the measured run (not measured): say, to create its database."""
        subprocess.run(self.cli(*args), cwd=self.work, env=child_env(self.tree, self.work), capture_output=True,
                       timeout=120, check=True)  # fmt: skip
        (self.work / "figures.jsonl").unlink(missing_ok=True)

    def newsbot(self, *args: str | Path) -> list[str]:
        """`python -m bot ARGS`, run as a child (see `child`)."""
        return self.child("module", "bot", *args)


def stored(lab: Lab, expected: int) -> Callable[[Finished], str]:
    def describe(_: Finished) -> str:
        error, _when = _feed_row(lab.database)
        return f"{_count(lab.database)} of {expected} items stored" + (f", feed error {error!r}" if error else "")

    return describe


def _count(database: Path, table: str = "entries") -> int | str:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.Error:
        return "?"


def _feed_row(database: Path) -> tuple[str | None, str | None]:
    """The one feed's last error and next poll time, as stored."""
    with suppress(sqlite3.Error), sqlite3.connect(database) as conn:
        row = conn.execute("SELECT last_error, next_poll_at FROM feeds").fetchone()
        if row:
            return row[0], row[1]
    return None, None


def next_poll(lab: Lab) -> Callable[[Finished], str]:
    def describe(run: Finished) -> str:
        error, when = _feed_row(lab.database)
        parts = [f"feed error {error!r}"] if error else []
        if when:
            at = datetime.fromisoformat(str(when))
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            run.figures["next_poll_h"] = (at - datetime.now(UTC)).total_seconds() / 3600
            parts.append(f"next poll in {run.figures['next_poll_h']:.1f} h")
        return ", ".join(parts) or "nothing stored"

    return describe


def timed(key: str, label: str) -> Callable[[Finished], str]:
    def describe(run: Finished) -> str:
        return f"{label} {run.figures[key]:.2f} s" if key in run.figures and run.kind != "timeout" else ""

    return describe


def case_near(words: int) -> Callable[[Lab], Plan]:
    def plan(lab: Lab) -> Plan:
        rules = lab.work / "rules"
        rules.mkdir()
        shutil.copy(RULES / "cyber-attack-infrastructure.yaml", rules)
        story = lab.work / "story.txt"
        story.write_text("Hackers and the grid\n" + "hackers grid " * words + "\n")
        config = lab.config(rules=rules)

        def describe(run: Finished) -> str:
            matched = "cyber-attack-infrastructure" in run.stdout
            return (timed("op_s", "match command")(run) + (", matched" if matched else "")).lstrip(", ")

        return Plan(lab.cli("match", "-c", config, "--json", story), describe)

    return plan


def case_credits(length: int) -> Callable[[Lab], Plan]:
    def plan(lab: Lab) -> Plan:
        return Plan(lab.child("call", "bot.stories.attribution:find_credits", "--capitals", str(length)),
                    timed("op_s", "find_credits"))  # fmt: skip

    return plan


def case_poisoned(lab: Lab) -> Plan:
    feeds = [lab.feed(name) for name in ("surrogate.json", "nul.json", "wire.xml")]
    return Plan(lab.cli("poll", "-c", lab.config(feeds=feeds), "--once", "--json"), stored(lab, 3))


def case_nul_pg(lab: Lab) -> Plan | str:
    """A NUL in a title (which SQLite takes and PostgreSQL refuses) and a normal feed, in a fresh database."""
    if lab.pg_url is None:
        return "not measured (no PostgreSQL URL: --pg or NEWSBOT_TEST_PG_URL)"
    admin, database = lab.pg_url, f"newsbot_bench_hardening_{lab.side}_{os.getpid()}"
    created = subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{database}"'], capture_output=True, text=True)
    if created.returncode:
        return f"not measured (PostgreSQL: {_first_line(created.stderr)})"
    url = admin.rsplit("/", 1)[0] + f"/{database}"
    config = lab.config(feeds=[lab.feed("nul.json"), lab.feed("wire.xml")])
    config.write_text(config.read_text().replace(f"sqlite:///{lab.database}", url))

    def describe(_: Finished) -> str:
        count = subprocess.run(["psql", url, "-tAc", "SELECT count(*) FROM entries"], capture_output=True, text=True)
        return f"{count.stdout.strip() or 0} of 2 items stored"

    def drop() -> None:
        sql = f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'
        subprocess.run(["psql", admin, "-qc", sql], capture_output=True)

    return Plan(lab.cli("poll", "-c", config, "--once", "--json"), describe, cleanup=drop)


def case_one_feed(name: str, describe: Callable[[Lab], Callable[[Finished], str]]) -> Callable[[Lab], Plan]:
    def plan(lab: Lab) -> Plan:
        return Plan(lab.cli("poll", "-c", lab.config(feeds=[lab.feed(name)]), "--once", "--json"), describe(lab))

    return plan


def case_config(text: str | bytes, *, with_feed: bool = False) -> Callable[[Lab], Plan]:
    """`poll --once` with a config file holding one bad value."""

    def plan(lab: Lab) -> Plan:
        config = lab.work / "config.yaml"
        if isinstance(text, bytes):
            config.write_bytes(text)
        else:
            feed = f"feeds:\n  - url: {lab.feed('wire.xml')}\n    fulltext: false\n" if with_feed else ""
            config.write_text(f"database: sqlite:///{lab.database}\nrules: {RULES}\n{feed}{text}")
        return Plan(lab.cli("poll", "-c", config, "--once", "--json"), next_poll(lab) if with_feed else lambda _: "")

    return plan


def case_deep_rule(name: str, text: str) -> Callable[[Lab], Plan]:
    """`rules check` over a folder with the deep file and one ordinary broken file beside it."""

    def plan(lab: Lab) -> Plan:
        rules = lab.work / "rules"
        rules.mkdir()
        (rules / name).write_text(text)
        (rules / "unclosed.yaml").write_text("id: other\ntitle: O\nquery: (a\n")

        def describe(run: Finished) -> str:
            told = [n for n in (name, "unclosed.yaml") if f"{n}:" in run.stderr]
            return "reported: " + (", ".join(told) or "neither file")

        return Plan(lab.cli("rules", "check", rules), describe)

    return plan


def case_redirect(origin: str, target: str) -> Callable[[Lab], Plan | str]:
    """The decision only: the baseline has none to call (it follows every redirect), and following one to
    show it would send a request to `target`."""

    def plan(lab: Lab) -> Plan | str:
        if lab.side == "before":
            return "not measured (would send traffic off the machine)"
        return Plan(lab.child("redirect", origin, target), lambda run: str(run.figures.get("result", "")))

    return plan


def case_big_feed(items: int, timeout: float | None = None) -> Callable[[Lab], Plan]:
    """`poll --once` of one big feed, the ingest lock timed (see `child_ingest_lock`)."""

    def plan(lab: Lab) -> Plan:
        config = lab.config(feeds=[lab.feed(f"big-{items}.xml")])

        def describe(run: Finished) -> str:
            parts = [f"{_count(lab.database)} of {items:,} stored"]
            since = run.figures.get("held_since")
            if since and run.killed_at:
                parts.append(f"ingest lock held for {run.killed_at - since:.1f} s when killed")
            elif since is None and "longest_hold_s" in run.figures:
                parts.append(f"longest ingest lock hold {run.figures['longest_hold_s']:.2f} s")
            else:
                parts.append("the ingest lock was never taken")
            return ", ".join(parts)

        return Plan(lab.child("ingest-lock", "poll", "-c", config, "--once", "--json"), describe, timeout=timeout)

    return plan


def case_console(name: str) -> Callable[[Lab], Plan]:
    """`poll --once` printing to the terminal (not --json) a feed whose title carries escapes."""

    def plan(lab: Lab) -> Plan:
        config = lab.config(feeds=[lab.feed("escapes.xml")], name=name)

        def describe(run: Finished) -> str:
            printed = "Cyber attack on critical infrastructure" in run.stdout
            escapes = "\x1b" in run.stdout or "\x07" in run.stdout
            return (f"{_count(lab.database, 'alerts')} alert stored, printed: {'yes' if printed else 'no'}, "
                    f"escapes in output: {'yes' if escapes else 'no'}")  # fmt: skip

        return Plan(lab.cli("poll", "-c", config, "--once"), describe)

    return plan


def case_locked(lab: Lab) -> Plan:
    """An existing newsbot database (a first poll made it) that another program holds a write lock on."""
    config = lab.config(feeds=[lab.feed("wire.xml")])
    lab.prepare("poll", "-c", config, "--once", "--json")
    other = sqlite3.connect(lab.database, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    return Plan(lab.cli("poll", "-c", config, "--once", "--json"), cleanup=other.close)


def case_second_newsbot(lab: Lab) -> Plan:
    feed = lab.feed("wire.xml")
    config = lab.config(feeds=[feed])
    first = subprocess.Popen(
        lab.newsbot("poll", "-c", config, "--json"), cwd=lab.work, env={**os.environ, "PYTHONPATH": str(lab.tree)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    path = feed.split(str(lab.server.port), 1)[1]
    deadline = time.monotonic() + 30
    while lab.server.requests.get(path, 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)

    def stop() -> None:
        first.terminate()
        try:
            first.wait(10)
        except subprocess.TimeoutExpired:
            first.kill()
            first.wait()
        _kill_group(first.pid)

    def describe(run: Finished) -> str:
        return f"the first newsbot polled {lab.server.requests.get(path, 0)} times meanwhile"

    return Plan(lab.cli("poll", "-c", config, "--once", "--json"), describe, cleanup=stop)


def case_telegram_down(lab: Lab) -> Plan:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens here once the socket is closed
    feed = lab.feed("wire.xml")
    telegram = f"telegram:\n  token: ${{TELEGRAM_BOT_TOKEN}}\n  base_url: http://127.0.0.1:{closed}/bot\n"
    config = lab.config(f"polling:\n  min_interval: 1s\n  jitter: 0\n{telegram}", feeds=[feed])
    path = feed.split(str(lab.server.port), 1)[1]

    def describe(run: Finished) -> str:
        said = "Telegram is unreachable" in run.stderr + run.stdout
        return f"feed polled {lab.server.requests.get(path, 0)} times, says so: {'yes' if said else 'no'}"

    return Plan(lab.newsbot("run", "-c", config), describe, stop_after=8,
                env={"TELEGRAM_BOT_TOKEN": "424242:bench-token"})  # fmt: skip


def case_duplicate_id(lab: Lab) -> Plan:
    rules = lab.work / "rules"
    shutil.copytree(RULES, rules)
    (rules / "aaa-hijack.yaml").write_text("id: troop-deployment\ntitle: Hijacked\nquery: parade\n")
    story = lab.work / "story.txt"
    story.write_text("Troops sent\nEstonia sent troops to the border before the parade.\n")

    def describe(run: Finished) -> str:
        if '"rule_title": "Troop deployment"' in run.stdout:
            return "the topic kept by troop-deployment.yaml"
        if '"rule_title": "Hijacked"' in run.stdout:
            return "the topic taken by aaa-hijack.yaml"
        return "no match for the topic"

    return Plan(lab.cli("match", "-c", lab.config(rules=rules), "--json", story), describe)


def case_spaces(lab: Lab) -> Plan:
    return Plan(lab.child("call", "bot.parse.urls:canonical_url", json.dumps("http://127.0.0.1/a b c")),
                lambda run: f"gives {run.figures.get('result', '?')}")  # fmt: skip


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            with suppress(OSError):
                children = {int(c) for c in (task / "children").read_text().split()}
                todo.extend(children - found)
                found |= children
    return found


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def case_workers(lab: Lab) -> Plan:
    config = lab.config(feeds=[lab.feed("workers.xml")])
    children: set[int] = set()

    def workers_up(pid: int) -> bool:  # resource tracker, forkserver and a worker: kill -9 the newsbot
        children.update(_descendants(pid))
        return len(children) >= 3

    def describe(run: Finished) -> str:
        if not children:
            return "no parse worker started"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in children):
            time.sleep(0.2)
        left = [pid for pid in children if _alive(pid)]
        rss = sum(_rss_mb(pid) for pid in left)
        for pid in left:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return f"{len(left)} of {len(children)} child processes left 10 s after kill -9 ({rss:.0f} MB)"

    return Plan(lab.newsbot("poll", "-c", config, "--json"), describe, watch=workers_up)


def _rss_mb(pid: int) -> float:
    with suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass(frozen=True)
class Case:
    label: str
    input: str
    plan: Callable[[Lab], Plan | str]  # a string: why it is not measured in this tree
    fixed: Callable[[Finished], bool] = lambda run: run.kind in ("ok", "exit", "stopped")


def _says(text: str) -> Callable[[Finished], bool]:
    return lambda run: text in run.outcome


def _next_poll_within_a_day(run: Finished) -> bool:
    return run.kind in ("ok", "exit") and run.figures.get("next_poll_h", 1e9) <= 27  # 24 h cap + jitter


def _short_hold(run: Finished) -> bool:
    return run.kind == "ok" and run.figures.get("longest_hold_s", 1e9) < 5


def _one_sentence(run: Finished) -> bool:
    return run.kind == "exit" and len(run.stderr.strip().splitlines()) == 1


DEEP = {
    "parens.yaml": "id: parens\ntitle: P\nquery: " + "(" * 5000 + "a" + ")" * 5000 + "\n",
    "chain.yaml": "id: chain\ntitle: C\nquery: a" + " NEAR/3 a" * 3000 + "\n",
    "nots.yaml": "id: nots\ntitle: N\nquery: " + "NOT " * 5000 + "a\n",
    "brackets.yaml": "id: brackets\ntitle: B\nquery: a\nexamples: " + "[" * 20000 + "]" * 20000 + "\n",
}
DEEP_INPUTS = {
    "parens.yaml": "5,000 nested ( in a query (`rules check`)",
    "chain.yaml": "3,000 chained NEAR/3",
    "nots.yaml": "5,000 NOT",
    "brackets.yaml": "20,000 nested [ in a rule file's YAML",
}
SANE_URL = "http://127.0.0.1:9/feed"  # never polled: these configs are refused (or, before, fail) first


def _stores(expected: int) -> Callable[[Lab], Callable[[Finished], str]]:
    return lambda lab: stored(lab, expected)


def _utf16(lab: Lab) -> Plan:
    return Plan(lab.child("call", "bot.deliver.format:utf16_len", json.dumps("\ud800")))


def _refuses_second(run: Finished) -> bool:
    return _one_sentence(run) and "another newsbot" in run.stderr


def _keeps_polling(run: Finished) -> bool:
    return run.kind == "stopped" and "says so: yes" in run.outcome


def _no_spaces(run: Finished) -> bool:
    return run.kind == "ok" and " " not in run.figures.get("result", " ")


CASES = [
    Case("1a", '"hackers grid " x 1,000 in one sentence, shipped cyber-attack rule (`match`)', case_near(1_000)),
    Case("1b", '"hackers grid " x 4,000, same', case_near(4_000)),
    Case("2a", 'find_credits("A" * 4,000)', case_credits(4_000)),
    Case("2b", 'find_credits("A" * 16,000)', case_credits(16_000)),
    Case("3a", "JSON Feed titles with a lone surrogate, with a NUL, and a normal feed; `poll --once`, SQLite",
         case_poisoned, _says("3 of 3")),
    Case("3b", "a JSON Feed title with a NUL and a normal feed; `poll --once`, PostgreSQL", case_nul_pg,
         _says("2 of 2")),
    Case("3c", 'format.utf16_len("\\ud800")', _utf16),
    Case("4a", "Cache-Control: max-age=9999999999999", case_one_feed("max-age.xml", next_poll),
         _next_poll_within_a_day),
    Case("4b", "503 with Retry-After: 9999999999999", case_one_feed("retry-after.xml", next_poll),
         _next_poll_within_a_day),
    Case("4c", "<ttl>5000000000</ttl>", case_one_feed("ttl.xml", next_poll), _next_poll_within_a_day),
    Case("4d", "feed URL http://[::1/", case_config("feeds:\n  - url: 'http://[::1/'\n"), _one_sentence),
    Case("4e", "feed URL http://127.0.0.1:99999/", case_config("feeds:\n  - url: http://127.0.0.1:99999/\n"),
         _one_sentence),
    *(Case(f"5{'abcd'[n]}", DEEP_INPUTS[name], case_deep_rule(name, text), _says(f"reported: {name}, unclosed"))
      for n, (name, text) in enumerate(DEEP.items())),
    Case("6a", "an item link http://[::1/x beside a good item", case_one_feed("bad-link.xml", _stores(2)),
         _says("2 of 2")),
    Case("6b", "<ttl>99999999999999</ttl>", case_one_feed("ttl-huge.xml", next_poll), _next_poll_within_a_day),
    Case("6c", "a JSON Feed item nested 100,000 deep beside a good item", case_one_feed("deep.json", _stores(2)),
         _says("2 of 2")),
    Case("7a", "redirect decision: a feed on 127.0.0.1 sent to 169.254.169.254",
         case_redirect("127.0.0.1", "169.254.169.254"), _says("refused")),
    Case("7b", "redirect decision: a feed on 93.184.216.34 sent to 127.0.0.1",
         case_redirect("93.184.216.34", "127.0.0.1"), _says("refused")),
    Case("8a", "every: 99999999999w", case_config(f"feeds:\n  - url: {SANE_URL}\n    every: 99999999999w\n"),
         _one_sentence),
    Case("8b", "total_timeout: .inf", case_config("polling:\n  total_timeout: .inf\n"), _one_sentence),
    Case("8c", "a config file that is not UTF-8",
         case_config(f"feeds:\n  - url: {SANE_URL}\n    name: Caf\xe9\n".encode("latin-1")), _one_sentence),
    Case("8d", "read_timeout: 0", case_config("polling:\n  read_timeout: 0\n", with_feed=True), _one_sentence),
    Case("9", "a 100,000-item feed (7 MB), `poll --once`; its own cap of 100 s", case_big_feed(100_000, 100),
         _short_hold),
    Case("10a", "a title with \\x1b[2J and \\x1b]0;...\\x07, printed to the terminal", case_console("Wire"),
         _says("printed: yes, escapes in output: no")),
    Case("10b", "the same from a feed named 'Wire [/x]'", case_console("'Wire [/x]'"),
         _says("printed: yes, escapes in output: no")),
    Case("11a", "a newsbot SQLite file locked by another program (BEGIN EXCLUSIVE)", case_locked, _one_sentence),
    Case("11b", "`poll --once` while another newsbot runs on the same SQLite file", case_second_newsbot,
         _refuses_second),
    Case("12", "`run` with the Bot API on a closed 127.0.0.1 port (stopped after 8 s)", case_telegram_down,
         _keeps_polling),
    Case("13", "aaa-hijack.yaml with the shipped id troop-deployment; `match`", case_duplicate_id,
         _says("kept by troop-deployment.yaml")),
    Case("14", 'canonical_url("http://127.0.0.1/a b c")', case_spaces, _no_spaces),
    Case("15", "kill -9 of `poll` (daemon) once its parse workers run", case_workers, _says("; 0 of")),
]

# ------------------------------------------------------------------------------------------------ the run


@contextmanager
def baseline_tree(ref: str) -> Iterator[Path]:
    """The baseline's files in a temporary folder (`git archive`), compiled once so no case pays for it."""
    with tempfile.TemporaryDirectory(prefix="newsbot-baseline-") as folder:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        subprocess.run([sys.executable, "-m", "compileall", "-q", f"{folder}/bot"], check=True)
        yield Path(folder)


def _cell(run: Finished) -> str:
    if run.kind == "skipped":
        return f"{run.outcome} | | "
    return f"{run.outcome.replace('|', '/')} | {run.seconds:.1f} | {run.mb:.0f}"


def measure(case: Case, side: str, tree: Path, server: FeedServer, args: argparse.Namespace) -> Finished:
    with tempfile.TemporaryDirectory(prefix=f"hardening-{case.label}-") as folder:
        lab = Lab(case.label, side, tree, Path(folder), server, args.pg)
        plan = case.plan(lab)
        if isinstance(plan, str):
            return Finished("skipped", plan, 0, 0, "", "", {})
        return run_child(plan, tree, lab.work, args.timeout, int(args.memory_gb * 1024 * MB))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the code before (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=30, help="wall seconds per run (default %(default)s)")
    parser.add_argument("--memory-gb", type=float, default=3, help="address-space cap per run (default %(default)s)")
    parser.add_argument("--pg", default=os.environ.get("NEWSBOT_TEST_PG_URL"), help="PostgreSQL URL for case 3b")
    parser.add_argument("--only", nargs="*", help="case labels to run (default: all)")
    args = parser.parse_args()
    cases = [case for case in CASES if not args.only or case.label in args.only]
    started = time.monotonic()
    rows = []
    with baseline_tree(args.baseline) as before, FeedServer() as server:
        serve_cases(server)
        for case in cases:
            runs = [measure(case, side, tree, server, args) for side, tree in (("before", before), ("after", ROOT))]
            verdict = "not measured" if runs[1].kind == "skipped" else "yes" if case.fixed(runs[1]) else "**NO**"
            rows.append(f"| {case.label} | {case.input} | {_cell(runs[0])} | {_cell(runs[1])} | {verdict} |")
            print(f"{case.label}: before {runs[0].outcome} ({runs[0].seconds:.1f} s) / after {runs[1].outcome} "
                  f"({runs[1].seconds:.1f} s)", file=sys.stderr, flush=True)  # fmt: skip
    print(f"\nbaseline {args.baseline} against the current tree; caps {args.timeout:.0f} s and "
          f"{args.memory_gb:g} GB per run; whole run {time.monotonic() - started:.0f} s\n")  # fmt: skip
    print("| case | input | before: outcome | s | MB | after: outcome | s | MB | fixed |")
    print("|---|---|---|---:|---:|---|---:|---:|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        raise SystemExit(child(sys.argv[2], sys.argv[3:]))
    main()
