"""A server killed with SIGKILL leaves no import validation worker, fork server or
resource tracker behind (``make test`` once left all three running after its kill -9
test: the worker waited on a queue whose write end it held itself).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.session_processes import STAMP, stamped

SCRIPT = """
import os, sys, time
from app.services.contacts.importing.stage import _worker_pool
pool = _worker_pool()
pid = pool.submit(os.getpid).result(timeout=60)
print(pid, flush=True)
time.sleep(600)
"""


def test_the_validation_worker_and_its_fork_server_exit_when_the_owner_is_killed(
    tmp_path: Path,
) -> None:
    stamp = f"orphans-{os.getpid()}-{time.monotonic_ns()}"
    owner = subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        env={**os.environ, STAMP: stamp},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert owner.stdout is not None
    worker = int(owner.stdout.readline())
    assert Path(f"/proc/{worker}").exists()
    helpers = {pid for pid, _ in stamped(stamp)} - {owner.pid}
    assert worker in helpers  # the worker, the fork server, the resource tracker
    owner.send_signal(signal.SIGKILL)
    owner.wait(timeout=30)
    deadline = time.monotonic() + 30
    while (left := stamped(stamp)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid, _ in left:  # not to leave them to the session's check
        os.kill(pid, signal.SIGKILL)
    assert left == []
