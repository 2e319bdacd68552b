"""The schema stays distributable by workspace, and models and migrations agree."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import ForeignKeyConstraint, Index, PrimaryKeyConstraint, UniqueConstraint

import app.models  # noqa: F401  (registers every table)
from app.migrations import alembic_config
from app.models.base import metadata

GLOBAL_TABLES = {"workspaces"}  # the distribution root itself


def _tenant_tables() -> list[str]:
    return sorted(t for t in metadata.tables if t not in GLOBAL_TABLES)


def test_every_tenant_table_has_a_workspace_column() -> None:
    missing = [t for t in _tenant_tables() if "workspace_id" not in metadata.tables[t].c]
    assert missing == []


def test_every_key_and_unique_index_includes_workspace_id() -> None:
    offenders: list[str] = []
    for name in _tenant_tables():
        table = metadata.tables[name]
        for constraint in table.constraints:
            if (
                isinstance(constraint, PrimaryKeyConstraint | UniqueConstraint)
                and "workspace_id" not in constraint.columns
            ):
                offenders.append(f"{name}: {constraint.__class__.__name__} {constraint.name}")
            if isinstance(constraint, ForeignKeyConstraint):
                local = [c.name for c in constraint.columns]
                if "workspace_id" not in local:
                    offenders.append(f"{name}: foreign key {constraint.name} {local}")
                elif constraint.referred_table.name not in GLOBAL_TABLES:
                    remote = [e.column.name for e in constraint.elements]
                    if "workspace_id" not in remote:
                        offenders.append(f"{name}: foreign key {constraint.name} -> {remote}")
        for index in table.indexes:
            if isinstance(index, Index) and index.unique:
                cols = [getattr(e, "name", None) for e in index.expressions]
                if "workspace_id" not in cols:
                    offenders.append(f"{name}: unique index {index.name}")
    assert offenders == []


def test_workspace_id_leads_every_primary_key() -> None:
    wrong = [
        t
        for t in _tenant_tables()
        if next(iter(metadata.tables[t].primary_key.columns.keys())) != "workspace_id"
    ]
    assert wrong == []


async def test_models_and_migrations_agree(template_url: str) -> None:
    """`alembic check`: autogenerate finds nothing to add against the migrated database."""
    await asyncio.to_thread(command.check, alembic_config(template_url))


async def test_database_primary_keys_lead_with_workspace_id(engine: object) -> None:
    """Migrations are hand-checked for key order too: the database must match the models."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncEngine

    assert isinstance(engine, AsyncEngine)
    query = text(
        """
        SELECT c.relname AS table_name, a.attname AS first_column
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
        WHERE i.indisprimary
        """
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    wrong = sorted(
        r.table_name
        for r in rows
        if r.table_name in _tenant_tables() and r.first_column != "workspace_id"
    )
    assert wrong == []
