"""Running Alembic from code, for the CLI, the server's start-up and the tests."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory


def alembic_dir() -> Path:
    """The migrations ship beside the package in a checkout and in the container."""
    for candidate in (Path(__file__).resolve().parent.parent / "alembic", Path.cwd() / "alembic"):
        if (candidate / "env.py").is_file():
            return candidate
    raise RuntimeError("alembic/ directory not found next to the app or in the working dir")


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(alembic_dir()))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["database_url"] = database_url
    return cfg


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    return frozenset(script.get_heads())


def upgrade(database_url: str) -> None:
    """Upgrade to the head. Safe from several replicas at once: env.py takes a lock."""
    command.upgrade(alembic_config(database_url), "head")


async def upgrade_async(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)
