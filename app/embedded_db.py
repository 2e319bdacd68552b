"""An embedded PostgreSQL for laptops and tests, from the ``pgserver`` package.

Used only when no ``DATABASE_URL`` is configured, and only where the ``embedded`` extra
is installed (``pip install 'rapport[embedded]'``; the container has no need of it). The
server's files live under the data directory (``RAPPORT_DATA_DIR``: by default the
checkout's ``.rapport/`` or the user's data folder, never the current one) and are reused
by the next run. The server keeps running after the command that started it exits, so
the next start is instant; ``rapport db status`` shows it and ``rapport db stop`` stops
it (``embedded_status``, ``stop_embedded``).
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger("rapport.embedded_db")
INSTALL_HINT = "pip install 'rapport[embedded]'"


class EmbeddedUnavailable(RuntimeError):
    """The embedded PostgreSQL is not installed (the ``embedded`` extra)."""


def _pgserver() -> Any:
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        try:
            import pgserver
        except ImportError:
            raise EmbeddedUnavailable(
                f"the embedded PostgreSQL is not installed ({INSTALL_HINT})"
            ) from None
    return pgserver


def pgdata_of(data_dir: Path) -> Path:
    return (data_dir / "pgdata").resolve()


def url_for(pgdata: Path, database: str) -> str:
    return f"postgresql://postgres:@/{database}?host={quote(str(pgdata))}"


def embedded_url(data_dir: Path, database: str = "rapport") -> str:
    """Start (or reuse) the embedded server and return a URL for ``database`` on it."""
    pgserver = _pgserver()
    import fasteners  # type: ignore[import-untyped]  # pgserver's own dependency

    pgdata = pgdata_of(data_dir)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # One process at a time: on a fresh clone the test workers (pytest-xdist) all start
    # here at once, and pgserver's first start (initdb) raced on creating pgdata.
    with fasteners.InterProcessLock(str(data_dir / "pgserver-start.lock")):
        server = pgserver.get_server(pgdata, cleanup_mode=None)
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{database}";')
            log.info("created embedded database %s", database)
    return url_for(pgdata, database)


@dataclass(frozen=True)
class EmbeddedStatus:
    pgdata: Path
    pid: int | None  # None: not running

    @property
    def running(self) -> bool:
        return self.pid is not None


def _system_user() -> str | None:
    """PostgreSQL refuses to run as root; pgserver runs it as its own user then."""
    return "pgserver" if os.geteuid() == 0 else None


def _pg_ctl(pgdata: Path, *args: str) -> subprocess.CompletedProcess[str]:
    pgserver = _pgserver()
    return subprocess.run(  # noqa: S603 (pgserver's own binary, our arguments)
        [str(pgserver._commands.POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), *args],
        user=_system_user(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def embedded_status(data_dir: Path) -> EmbeddedStatus:
    """Whether the embedded server of ``data_dir`` runs, without starting it."""
    pgdata = pgdata_of(data_dir)
    if not (pgdata / "PG_VERSION").is_file():
        return EmbeddedStatus(pgdata, None)
    done = _pg_ctl(pgdata, "status")
    if done.returncode != 0:  # 3: not running
        return EmbeddedStatus(pgdata, None)
    pid_file = pgdata / "postmaster.pid"
    return EmbeddedStatus(pgdata, int(pid_file.read_text().split()[0]))


def stop_embedded(data_dir: Path) -> bool:
    """Stop the embedded server of ``data_dir`` (connections are ended: ``-m fast``);
    whether one was running."""
    status = embedded_status(data_dir)
    if not status.running:
        return False
    done = _pg_ctl(status.pgdata, "-m", "fast", "-w", "stop")
    if done.returncode != 0:
        raise RuntimeError(f"pg_ctl stop failed: {done.stderr.strip() or done.stdout.strip()}")
    return True
