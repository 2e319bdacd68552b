"""Which database the commands use, and ``rapport migrate`` / ``rapport openapi``."""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING, TypeAlias

from app.config import Settings, get_settings

if TYPE_CHECKING:  # generic only to the type checker
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def database_url(settings: Settings) -> str:
    """The configured database, or the embedded one when none is configured."""
    if settings.database_url:
        return settings.database_url
    from app.embedded_db import embedded_url

    url = embedded_url(settings.data_dir)
    os.environ["DATABASE_URL"] = url  # uvicorn workers and the demo inherit it
    get_settings.cache_clear()
    return url


def migrate(url: str) -> None:
    from app.migrations import upgrade

    upgrade(url)


def migrated_url() -> str:
    """The database, migrated first unless ``RAPPORT_MIGRATE_ON_START`` says not to."""
    settings = get_settings()
    url = database_url(settings)
    if settings.migrate_on_start:
        migrate(url)
    return url


def cmd_migrate(_args: argparse.Namespace) -> int:
    migrate(database_url(get_settings()))
    print("database at the latest migration")
    return 0


def cmd_openapi(_args: argparse.Namespace) -> int:
    from app.main import create_app

    print(json.dumps(create_app(get_settings()).openapi(), indent=2, sort_keys=True))
    return 0


def add_parsers(sub: Subparsers) -> None:
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("openapi", help="print the OpenAPI document").set_defaults(func=cmd_openapi)
