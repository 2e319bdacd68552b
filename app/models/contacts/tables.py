"""Contacts: the people and businesses of the inner circle, and their sync identities."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Computed, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.models.platform import (
    Base,
    IdMixin,
    TenantMixin,
    created_at_column,
    tenant_fk,
    workspace_fk,
)

Segment = Literal["prospect", "client", "advocate", "core_advocate", "allied_resource"]
AdvocacyStage = Literal["seeker", "engaged", "advocate", "core_advocate"]
Channel = Literal["email", "sms", "call", "mail"]
SEGMENTS: tuple[Segment, ...] = (
    "prospect",
    "client",
    "advocate",
    "core_advocate",
    "allied_resource",
)
ADVOCACY_STAGES: tuple[AdvocacyStage, ...] = ("seeker", "engaged", "advocate", "core_advocate")

# The words `q` searches: names, company, e-mail addresses, phone digits. A generated
# column keeps it in step with the row; a GIN index makes prefix search an index scan.
SEARCH_DOCUMENT = (
    "to_tsvector('simple', "
    "coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || "
    "coalesce(company_name, '') || ' ' || coalesce(company, '') || ' ' || "
    "coalesce(primary_email, '') || ' ' || coalesce(email_search, '') || ' ' || "
    "coalesce(phone_search, ''))"
)

# Duplicates: the normalised name (exact matches), and a phonetic key of its words (similar
# names; ``rapport_name_key`` is Soundex per word, see migration 0004n for why not pg_trgm).
NAME_NORM = "btrim(regexp_replace(sort_name, '[^[:alnum:]]+', ' ', 'g'))"
NAME_KEY = "rapport_name_key(sort_name)"


class Contact(IdMixin, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["owner_id"], "members", ondelete="SET NULL"),
        Index("ix_contacts_workspace_id_sort_name_id", "workspace_id", "sort_name", "id"),
        Index("ix_contacts_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
        Index("ix_contacts_workspace_id_updated_at_id", "workspace_id", "updated_at", "id"),
        Index(
            "ix_contacts_workspace_id_engaged_id",
            "workspace_id",
            text("coalesce(last_engaged_at, '-infinity'::timestamptz)"),
            "id",
        ),
        Index("ix_contacts_workspace_id_segment", "workspace_id", "segment"),
        Index("ix_contacts_search", "search", postgresql_using="gin"),
        Index("ix_contacts_tags", "tags", postgresql_using="gin"),
        Index("ix_contacts_workspace_id_name_key", "workspace_id", "name_key"),
        Index("ix_contacts_workspace_id_name_norm", "workspace_id", text(NAME_NORM)),
    )

    kind: Mapped[str] = mapped_column(String(16), default="person")
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    company_name: Mapped[str | None] = mapped_column(String(300))
    sort_name: Mapped[str] = mapped_column(String(600))
    company: Mapped[str | None] = mapped_column(String(300))
    job_title: Mapped[str | None] = mapped_column(String(200))
    emails: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    phones: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    primary_email: Mapped[str | None] = mapped_column(String(320))
    primary_phone: Mapped[str | None] = mapped_column(String(32))
    email_search: Mapped[str | None] = mapped_column(String(4000))
    phone_search: Mapped[str | None] = mapped_column(String(2000))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(35))
    owner_id: Mapped[uuid.UUID | None]
    segment: Mapped[str] = mapped_column(String(32), default="prospect")
    allied_category: Mapped[str | None] = mapped_column(String(64))
    advocacy_stage: Mapped[str] = mapped_column(String(32), default="seeker")
    advocacy_stage_manual: Mapped[bool] = mapped_column(default=False)
    family: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    interests: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    consent: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    do_not_contact: Mapped[bool] = mapped_column(default=False)
    last_engaged_at: Mapped[datetime | None]
    lapsed_at: Mapped[datetime | None]
    search: Mapped[str] = mapped_column(TSVECTOR, Computed(SEARCH_DOCUMENT, persisted=True))
    name_key: Mapped[str] = mapped_column(Text, Computed(NAME_KEY, persisted=True))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class ContactExternalId(TenantMixin, Base):
    """``(source, external_id)`` → contact: the key CRM syncs upsert by, unique per workspace."""

    __tablename__ = "contact_external_ids"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        Index("ix_contact_external_ids_workspace_id_contact_id", "workspace_id", "contact_id"),
    )

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    contact_id: Mapped[uuid.UUID]


class Observance(IdMixin, Base):
    """A yearly date of a contact: birthday, anniversary, home/closing anniversary, custom."""

    __tablename__ = "observances"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        Index("ix_observances_workspace_id_contact_id", "workspace_id", "contact_id"),
        Index("ix_observances_workspace_id_month_day", "workspace_id", "month", "day"),
    )

    contact_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(32))
    label: Mapped[str | None] = mapped_column(String(200))
    month: Mapped[int]
    day: Mapped[int]
    year: Mapped[int | None]
    created_at: Mapped[datetime] = created_at_column()


class Interaction(IdMixin, Base):
    """One entry of the communication log. Inbound and two-way entries count as engagement."""

    __tablename__ = "interactions"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        tenant_fk(["member_id"], "members", ondelete="SET NULL"),
        Index(
            "ix_interactions_workspace_id_contact_id_occurred_at",
            "workspace_id",
            "contact_id",
            "occurred_at",
        ),
        Index("ix_interactions_workspace_id_occurred_at_id", "workspace_id", "occurred_at", "id"),
    )

    contact_id: Mapped[uuid.UUID]
    member_id: Mapped[uuid.UUID | None]
    channel: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime]
    summary: Mapped[str | None] = mapped_column(String(10_000))
    duration_seconds: Mapped[int | None]
    touch_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = created_at_column()
