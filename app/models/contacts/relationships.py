"""Relationships between two contacts of a workspace (spouse, child, referred by...).

Symmetric kinds (spouse, partner, colleague) are stored once, smaller id first; a parent
is stored as the inverse child row. One row per fact means a relationship cannot
disagree with itself when seen from the other side.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints
from sqlalchemy import CheckConstraint, Index, String, text

from app.models.platform import (
    IdMixin,
    InputModel,
    OutputModel,
    column,
    created_at_column,
    tenant_fk,
    workspace_fk,
)

RelationshipType = Literal[
    "spouse", "partner", "child", "parent", "colleague", "referred_by", "referred", "custom"
]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
SYMMETRIC: frozenset[str] = frozenset({"spouse", "partner", "colleague"})
# How a stored type reads from the other contact's side.
INVERSE: dict[str, str] = {"child": "parent", "parent": "child", "referred_by": "referred"}
INVERSE["referred"] = "referred_by"


class ContactRelationship(IdMixin, table=True):
    __tablename__ = "contact_relationships"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        tenant_fk(["related_id"], "contacts", ondelete="CASCADE"),
        CheckConstraint("contact_id <> related_id", name="not_self"),
        Index(
            "uq_contact_relationships_workspace_id_pair_type",
            "workspace_id",
            "contact_id",
            "related_id",
            "type",
            text("coalesce(label, '')"),
            unique=True,
        ),
        Index("ix_contact_relationships_workspace_id_related_id", "workspace_id", "related_id"),
    )

    contact_id: uuid.UUID
    related_id: uuid.UUID
    type: str = column(String(32))
    label: str | None = column(String(100), default=None)
    created_at: datetime = created_at_column()


class RelationshipCreate(InputModel):
    related_id: uuid.UUID = Field(description="The other contact.")
    type: RelationshipType = Field(
        description="What the other contact is to this one: `child` means the related "
        "contact is this contact's child."
    )
    label: Label | None = Field(
        default=None, description="Required for `custom`, e.g. `godparent`."
    )


class RelationshipRead(OutputModel):
    id: uuid.UUID
    contact_id: uuid.UUID = Field(description="The contact whose relationships are listed.")
    related_id: uuid.UUID
    type: RelationshipType = Field(description="What `related_id` is to `contact_id`.")
    label: str | None
    created_at: datetime
