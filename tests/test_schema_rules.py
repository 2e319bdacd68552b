"""The schema stays distributable by workspace, and models and migrations agree."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import (
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app.migrations import alembic_config
from app.models.platform.base import TableModel, metadata

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


def misaligned_foreign_keys(table: Table) -> list[str]:
    """Composite foreign keys whose ``workspace_id`` is paired with another column.

    ``(workspace_id, contact_id) -> contacts (id, workspace_id)`` includes both columns
    and still points a contact id at a workspace id: each pair must line up, so that
    ``workspace_id`` references ``workspace_id`` (or ``workspaces.id`` for the root).
    """
    offenders: list[str] = []
    for constraint in table.constraints:
        if not isinstance(constraint, ForeignKeyConstraint):
            continue
        remote_table = constraint.referred_table.name
        for element in constraint.elements:
            local, remote = element.parent.name, element.column.name
            expected = "id" if remote_table in GLOBAL_TABLES else "workspace_id"
            if (local == "workspace_id") != (remote == expected):
                offenders.append(
                    f"{table.name}: {constraint.name} pairs {local} with {remote_table}.{remote}"
                )
    return offenders


def test_composite_foreign_keys_pair_workspace_id_with_workspace_id() -> None:
    offenders = [
        o for name in _tenant_tables() for o in misaligned_foreign_keys(metadata.tables[name])
    ]
    assert offenders == []


def test_misaligned_pairs_are_caught() -> None:
    """The rule above can fail: a key naming both columns in crossed order is reported."""
    scratch = MetaData()
    Table(
        "parents",
        scratch,
        Column("workspace_id", Integer, primary_key=True),
        Column("id", Integer, primary_key=True),
    )
    crossed = Table(
        "children",
        scratch,
        Column("workspace_id", Integer, primary_key=True),
        Column("parent_id", Integer),
        ForeignKeyConstraint(
            ["workspace_id", "parent_id"], ["parents.id", "parents.workspace_id"], name="fk_x"
        ),
    )
    aligned = Table(
        "good_children",
        scratch,
        Column("workspace_id", Integer, primary_key=True),
        Column("parent_id", Integer),
        ForeignKeyConstraint(
            ["parent_id", "workspace_id"], ["parents.id", "parents.workspace_id"], name="fk_y"
        ),
    )
    assert misaligned_foreign_keys(crossed) == [
        "children: fk_x pairs workspace_id with parents.id",
        "children: fk_x pairs parent_id with parents.workspace_id",
    ]
    assert misaligned_foreign_keys(aligned) == []


async def test_database_foreign_keys_pair_workspace_id_with_workspace_id(
    engine: AsyncEngine,
) -> None:
    """The migrated database, too: column pairs as PostgreSQL stores them (conkey/confkey)."""
    query = text(
        """
        SELECT c.conname, src.relname AS table_name, dst.relname AS referred,
               la.attname AS local_column, ra.attname AS remote_column
        FROM pg_constraint c
        JOIN pg_class src ON src.oid = c.conrelid
        JOIN pg_class dst ON dst.oid = c.confrelid
        JOIN pg_namespace n ON n.oid = src.relnamespace AND n.nspname = 'public'
        CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(local_num, remote_num)
        JOIN pg_attribute la ON la.attrelid = c.conrelid AND la.attnum = k.local_num
        JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.remote_num
        WHERE c.contype = 'f'
        """
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    assert rows, "the query found no foreign keys at all"
    wrong = sorted(
        f"{r.table_name}: {r.conname} pairs {r.local_column} with {r.referred}.{r.remote_column}"
        for r in rows
        if r.table_name in _tenant_tables()
        and (r.local_column == "workspace_id")
        != (r.remote_column == ("id" if r.referred in GLOBAL_TABLES else "workspace_id"))
    )
    assert wrong == []


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


async def test_database_primary_keys_lead_with_workspace_id(engine: AsyncEngine) -> None:
    """Migrations are hand-checked for key order too: the database must match the models."""
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


def test_every_table_is_a_sqlmodel_table_class() -> None:
    """The design card's model layer: each table is declared once, as a SQLModel class."""
    mapped = {m.local_table.name: m.class_ for m in TableModel._sa_registry.mappers}
    assert set(mapped) == set(metadata.tables)
    for cls in mapped.values():
        assert issubclass(cls, SQLModel), cls
        assert cls.model_config.get("table") is True, cls
