"""Table plumbing shared by every model.

Tables are SQLAlchemy 2.0 typed declarative classes: ``Mapped[...]`` columns type-check
under ``mypy --strict`` in both ORM and Core statements. Constraint names follow one
convention so Alembic migrations are deterministic. Every tenant table's primary key,
unique constraints and foreign keys lead with ``workspace_id``: that is what lets the
schema be distributed by workspace (Citus) without change, and it makes a cross-tenant
join impossible to write by accident.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKeyConstraint, MetaData, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import Uuid

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
        uuid.UUID: Uuid,
    }


metadata = Base.metadata


class TenantMixin:
    """The leading half of every tenant table's primary key."""

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, sort_order=-20)


class IdMixin(TenantMixin):
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, sort_order=-10)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


def tenant_fk(
    columns: Sequence[str], table: str, *, ondelete: str | None = None
) -> ForeignKeyConstraint:
    """A foreign key to another tenant table, always through ``(workspace_id, id)``.

    For ``ondelete="SET NULL"`` only the referencing columns are cleared (PostgreSQL 15+
    column lists), never ``workspace_id``.
    """
    if ondelete == "SET NULL":
        ondelete = f"SET NULL ({', '.join(columns)})"
    local = ["workspace_id", *columns]
    remote = [f"{table}.workspace_id", f"{table}.id"]
    return ForeignKeyConstraint(local, remote, ondelete=ondelete)


def workspace_fk() -> ForeignKeyConstraint:
    """Every tenant row hangs off its workspace and disappears with it."""
    return ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE")
