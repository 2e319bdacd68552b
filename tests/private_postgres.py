"""A PostgreSQL server of a test's own, to stop, start, pause and resume under load.

The embedded server the other tests share must never go away, so the outage tests run
one of their own from the same binaries (pgserver's): listening on 127.0.0.1 on a free
port, as a deployed database would, with its files in a temporary folder removed after.
As root it runs as pgserver's unprivileged ``pgserver`` user (PostgreSQL refuses root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

from tests.webhook_process import free_port

with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
    warnings.simplefilter("ignore")
    from pgserver._commands import POSTGRES_BIN_PATH


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    from pgserver.utils import ensure_user_exists

    ensure_user_exists("pgserver")
    return "pgserver"


class PrivatePostgres:
    """One server: ``start``/``stop`` (a clean shutdown: connections refused meanwhile)
    and ``pause``/``resume`` (SIGSTOP/SIGCONT of every server process: connections hang,
    as with a host that stopped answering)."""

    def __init__(self, *, password: str | None = None, start: bool = True) -> None:
        """``password``: connections must give it (scram-sha-256); else all are trusted."""
        self.password = password
        self.root = Path(tempfile.mkdtemp(prefix="rapport-pg-"))
        self.root.chmod(0o755)
        self.pgdata = self.root / "pgdata"
        self.port = free_port()
        self.user = _run_as()
        self.pgdata.mkdir()
        if self.user is not None:
            shutil.chown(self.pgdata, self.user)
        auth = ["--auth=trust"]
        if password is not None:
            pwfile = self.root / "pwfile"
            pwfile.write_text(password)
            pwfile.chmod(0o644)
            auth = ["--auth=scram-sha-256", f"--pwfile={pwfile}"]
        self._tool("initdb", *auth, "--encoding=utf8", "-U", "postgres")
        if start:
            self.start()

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        secret = password if password is not None else self.password
        user = "postgres" if secret is None else f"postgres:{secret}"
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def _tool(self, name: str, *args: str) -> None:
        subprocess.run(
            [str(POSTGRES_BIN_PATH / name), "-D", str(self.pgdata), *args],
            user=self.user,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.pgdata} -c max_connections=200"
        self._tool("pg_ctl", "-w", "-l", str(self.pgdata / "log"), "-o", options, "start")

    def stop(self) -> None:
        self._tool("pg_ctl", "-w", "-m", "fast", "stop")

    def pids(self) -> list[int]:
        """The postmaster and every process it forked (backends, background workers)."""
        postmaster = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        found = [postmaster]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == postmaster:
                    found.append(int(stat.parent.name))
        return found

    def pause(self) -> None:
        """The postmaster first, so that it forks no backend that would escape."""
        for pid in self.pids():  # the postmaster comes first
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        for pid in self.pids():  # and any it forked meanwhile
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def remove(self) -> None:
        """Stop the server (resumed first, if paused) and delete its files."""
        with contextlib.suppress(Exception):
            self.resume()
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            if (self.pgdata / "postmaster.pid").exists():
                self.stop()
        deadline = time.monotonic() + 10
        while (self.pgdata / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)
