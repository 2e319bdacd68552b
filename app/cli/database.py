"""Which database the commands use, ``rapport migrate``, ``rapport openapi`` and
``rapport db status|stop`` (the embedded PostgreSQL).

Every command that touches the database says which one on stderr, once: the server in
``DATABASE_URL`` (its address, never its password) or the embedded PostgreSQL and the
folder it lives in, which is the same from whatever folder the command is run
(``app.config.default_data_dir``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import TYPE_CHECKING, TypeAlias

from app.cli.failures import CliError, where
from app.config import Settings, get_settings

if TYPE_CHECKING:  # generic only to the type checker
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger("rapport.cli")


def database_url(settings: Settings) -> str:
    """The configured database, or the embedded one when none is configured."""
    if settings.database_url:
        log.info("using the database at %s", where(settings.database_url))
        return settings.database_url
    from app.embedded_db import EmbeddedUnavailable, embedded_url

    try:
        url = embedded_url(settings.data_dir)
    except EmbeddedUnavailable as exc:
        raise CliError(f"DATABASE_URL is not set, and {exc}") from None
    log.info(
        "using the embedded PostgreSQL in %s (it keeps running; stop it with 'rapport db stop')",
        settings.data_dir / "pgdata",
    )
    os.environ["DATABASE_URL"] = url  # uvicorn workers and the demo inherit it
    get_settings.cache_clear()
    return url


def ready_url(settings: Settings) -> str:
    """The database, once it answers (``RAPPORT_DB_WAIT_SECONDS``)."""
    from app.cli.waiting import wait_for_database

    url = database_url(settings)
    wait_for_database(url, settings.db_wait_seconds)
    return url


def migrate(url: str) -> None:
    from app.migrations import upgrade

    upgrade(url)


def migrated_url() -> str:
    """The database, migrated first unless ``RAPPORT_MIGRATE_ON_START`` says not to."""
    settings = get_settings()
    url = ready_url(settings)
    if settings.migrate_on_start:
        migrate(url)
    return url


def cmd_migrate(_args: argparse.Namespace) -> int:
    migrate(ready_url(get_settings()))
    print("database at the latest migration")
    return 0


def cmd_openapi(_args: argparse.Namespace) -> int:
    from app.main import create_app

    print(json.dumps(create_app(get_settings()).openapi(), indent=2, sort_keys=True))
    return 0


def cmd_db_status(_args: argparse.Namespace) -> int:
    """Exit 0 when the embedded server runs, 3 when it does not (as ``pg_ctl status``)."""
    from app.embedded_db import EmbeddedUnavailable, embedded_status, url_for

    settings = get_settings()
    try:
        status = embedded_status(settings.data_dir)
    except EmbeddedUnavailable as exc:
        raise CliError(str(exc)) from None
    demo_file = settings.data_dir / "demo.json"
    demo = json.loads(demo_file.read_text()) if demo_file.is_file() else {}
    print(
        json.dumps(
            {
                "data_dir": str(settings.data_dir.resolve()),
                "running": status.running,
                "pid": status.pid,
                "url": url_for(status.pgdata, "rapport"),
                "demo_workspace_id": demo.get("workspace_id"),
                "configured_database": where(settings.database_url)
                if settings.database_url
                else None,
            },
            indent=2,
        )
    )
    return 0 if status.running else 3


def cmd_db_stop(_args: argparse.Namespace) -> int:
    from app.embedded_db import EmbeddedUnavailable, stop_embedded

    settings = get_settings()
    try:
        stopped = stop_embedded(settings.data_dir)
    except EmbeddedUnavailable as exc:
        raise CliError(str(exc)) from None
    pgdata = settings.data_dir / "pgdata"
    print(
        f"stopped the embedded PostgreSQL in {pgdata}"
        if stopped
        else f"the embedded PostgreSQL in {pgdata} was not running",
        file=sys.stderr,
    )
    return 0


def add_parsers(sub: Subparsers) -> None:
    sub.add_parser(
        "migrate", help="apply database migrations (waits for the database first)"
    ).set_defaults(func=cmd_migrate)
    sub.add_parser("openapi", help="print the OpenAPI document").set_defaults(func=cmd_openapi)
    db = sub.add_parser("db", help="the embedded PostgreSQL").add_subparsers(
        dest="action", required=True
    )
    db.add_parser(
        "status", help="where it lives, whether it runs (exit 3 if not), the demo workspace"
    ).set_defaults(func=cmd_db_status)
    db.add_parser("stop", help="stop it (the data stays)").set_defaults(func=cmd_db_stop)
