"""An embedded PostgreSQL for laptops and tests, from the ``pgserver`` package.

Used only when no ``DATABASE_URL`` is configured. The server's files live under the data
directory and are reused by the next run; the server keeps running after this process
exits so the next start is instant (``rapport db stop`` is not needed: pgserver stops it
when no process uses it on the next clean-up, or the machine's shutdown does).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from urllib.parse import quote

import fasteners  # type: ignore[import-untyped]

log = logging.getLogger("rapport.embedded_db")


def embedded_url(data_dir: Path, database: str = "rapport") -> str:
    """Start (or reuse) the embedded server and return a URL for ``database`` on it."""
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        import pgserver

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # One process at a time: on a fresh clone the test workers (pytest-xdist) all start
    # here at once, and pgserver's first start (initdb) raced on creating pgdata.
    with fasteners.InterProcessLock(str(data_dir / "pgserver-start.lock")):
        server = pgserver.get_server(  # type: ignore[attr-defined]
            pgdata, cleanup_mode=None
        )
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{database}";')
            log.info("created embedded database %s", database)
    return f"postgresql://postgres:@/{database}?host={quote(str(pgdata))}"
