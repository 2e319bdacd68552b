"""A test run leaves no process behind, and its embedded PostgreSQL is its own.

``make test`` once left a fork server and a resource tracker running for half an hour,
and its embedded PostgreSQL (shared with ``make run``) kept running. Now:

- the controlling pytest process (the one pytest-xdist's workers are started from)
  stamps its environment with ``RAPPORT_TEST_RUN=<id>`` before any worker starts, so
  every process the run starts (workers, servers, fork servers, resource trackers,
  PostgreSQL itself) inherits the stamp, even after its parent died and it was
  re-parented;
- without ``DATABASE_URL`` it starts an embedded PostgreSQL of the test run's own
  (``.rapport/test``, never the one ``make run`` uses) and stops it at the end, unless
  it was already running when the run began (another run of the same checkout uses it);
- at the very end, after the workers are gone, it looks for any process still carrying
  the stamp: one found after a short grace is listed, killed, and fails the run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

STAMP = "RAPPORT_TEST_RUN"
SERVER_URL = "RAPPORT_TEST_SERVER_URL"
GRACE_SECONDS = 10.0
ROOT = Path(__file__).resolve().parent.parent
TEST_DATA_DIR = ROOT / ".rapport" / "test"


def _is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def stamped(stamp: str) -> list[tuple[int, str]]:
    """Processes other than this one whose environment carries ``stamp``: (pid, command)."""
    needle = f"{STAMP}={stamp}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append((int(entry.name), command.strip()))
    return found


def pytest_configure(config: pytest.Config) -> None:
    if not _is_controller(config):
        return
    stamp = os.environ.setdefault(STAMP, uuid.uuid4().hex)
    config.stash[_STAMP] = stamp
    if os.environ.get("DATABASE_URL") or os.environ.get(SERVER_URL):
        return
    from app.embedded_db import embedded_status, embedded_url

    was_running = embedded_status(TEST_DATA_DIR).running
    os.environ[SERVER_URL] = embedded_url(TEST_DATA_DIR, "postgres")
    config.stash[_STARTED] = not was_running


@pytest.hookimpl(trylast=True)  # after pytest-xdist has shut its workers down
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not _is_controller(config) or _STAMP not in config.stash:
        return
    if config.stash.get(_STARTED, False):
        from app.embedded_db import stop_embedded

        stop_embedded(TEST_DATA_DIR)
    deadline = time.monotonic() + GRACE_SECONDS
    while (left := stamped(config.stash[_STAMP])) and time.monotonic() < deadline:
        time.sleep(0.2)  # a server or fork server still on its way out
    if not left:
        return
    for pid, _command in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    lines = "\n".join(f"  {pid}: {command[:200]}" for pid, command in left)
    message = f"the test run left {len(left)} process(es) running (now killed):\n{lines}"
    if reporter is not None:
        reporter.write_sep("=", "processes left behind", red=True)
        reporter.write_line(message)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


_STAMP = pytest.StashKey[str]()
_STARTED = pytest.StashKey[bool]()
