"""Relationships between contacts, stored once and read from either side."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, NotFound, ValidationFailed
from app.models.contacts.relationships import (
    INVERSE,
    SYMMETRIC,
    ContactRelationship,
    RelationshipCreate,
    RelationshipRead,
)
from app.models.contacts.tables import Contact
from app.services.contacts.people import require_contact
from app.services.platform import PageRequest, keyset_page, where_visible

Rel = ContactRelationship
# What a relationship is read as, from either side (``seen_from``).
_READ = (
    col(Rel.id),
    col(Rel.contact_id),
    col(Rel.related_id),
    col(Rel.type),
    col(Rel.label),
    col(Rel.created_at),
)


def canonical(contact_id: uuid.UUID, related_id: uuid.UUID, kind: str) -> tuple[Any, Any, str]:
    """The one stored form of a fact: ``parent``/``referred`` become their inverse rows and
    symmetric kinds put the smaller id first."""
    if kind in ("parent", "referred"):
        return related_id, contact_id, INVERSE[kind]
    if kind in SYMMETRIC and related_id < contact_id:
        return related_id, contact_id, kind
    return contact_id, related_id, kind


def seen_from(row: Any, viewer: uuid.UUID) -> RelationshipRead:
    if row.contact_id == viewer:
        related, kind = row.related_id, row.type
    else:
        related, kind = row.contact_id, INVERSE.get(row.type, row.type)
    return RelationshipRead(
        id=row.id,
        contact_id=viewer,
        related_id=related,
        type=kind,
        label=row.label,
        created_at=row.created_at,
    )


async def add_relationship(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    data: RelationshipCreate,
    *,
    at: datetime,
) -> RelationshipRead:
    await require_contact(session, workspace_id, contact_id)
    if data.related_id == contact_id:
        raise ValidationFailed.on(["body", "related_id"], "a contact cannot relate to itself")
    if data.type == "custom" and data.label is None:
        raise ValidationFailed.on(["body", "label"], "a custom relationship needs a label")
    exists = select(col(Contact.id)).where(
        col(Contact.workspace_id) == workspace_id, col(Contact.id) == data.related_id
    )
    exists = where_visible(exists, Contact.__table__, ["id"])  # another agent's: none
    if (await session.execute(exists)).first() is None:
        raise ValidationFailed.on(["body", "related_id"], "no such contact in this workspace")
    a, b, kind = canonical(contact_id, data.related_id, data.type)
    stmt = (
        pg_insert(Rel)
        .values(
            workspace_id=workspace_id,
            id=uuid.uuid4(),
            contact_id=a,
            related_id=b,
            type=kind,
            label=data.label,
            created_at=at,
        )
        .on_conflict_do_nothing()
        .returning(*_READ)
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        raise Conflict("this relationship is already recorded")
    return seen_from(row, contact_id)


def _involving(workspace_id: uuid.UUID, contact_id: uuid.UUID) -> Any:
    return select(*_READ).where(
        col(Rel.workspace_id) == workspace_id,
        or_(col(Rel.contact_id) == contact_id, col(Rel.related_id) == contact_id),
    )


async def list_relationships(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, page: PageRequest
) -> tuple[list[RelationshipRead], str | None]:
    await require_contact(session, workspace_id, contact_id)
    # Both ends seen: a relationship to another agent's contact is not listed.
    stmt = where_visible(_involving(workspace_id, contact_id), Rel.__table__, ["contact_id"])
    stmt = where_visible(stmt, Rel.__table__, ["related_id"])
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(Rel.created_at), col(Rel.id)],
        page=page,
        sort="relationships",
    )
    return [seen_from(r, contact_id) for r in rows], cursor


async def delete_relationship(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    relationship_id: uuid.UUID,
) -> None:
    stmt = (
        delete(Rel)
        .where(
            col(Rel.workspace_id) == workspace_id,
            col(Rel.id) == relationship_id,
            or_(col(Rel.contact_id) == contact_id, col(Rel.related_id) == contact_id),
        )
        .returning(col(Rel.id))
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound("relationship not found")


async def merge_relationships(
    session: AsyncSession, workspace_id: uuid.UUID, keep_id: uuid.UUID, other_id: uuid.UUID
) -> None:
    """Merge hook: re-point ``other_id``'s relationships; drop ones that become self-loops
    or repeat a relationship ``keep_id`` already has."""
    rows = list(await session.execute(_involving(workspace_id, other_id)))
    moved = []
    for row in rows:
        a = keep_id if row.contact_id == other_id else row.contact_id
        b = keep_id if row.related_id == other_id else row.related_id
        if a == b:
            continue
        a, b, kind = canonical(a, b, row.type)
        moved.append(
            {
                "workspace_id": workspace_id,
                "id": uuid.uuid4(),
                "contact_id": a,
                "related_id": b,
                "type": kind,
                "label": row.label,
                "created_at": row.created_at,
            }
        )
    if rows:
        await session.execute(delete(Rel).where(col(Rel.id).in_([r.id for r in rows])))
    if moved:
        await session.execute(pg_insert(Rel).values(moved).on_conflict_do_nothing())
