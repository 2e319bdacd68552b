"""Contacts: the people and businesses of the inner circle, and their sync identities."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR

from app.models.platform import (
    IdMixin,
    TenantMixin,
    column,
    created_at_column,
    generated,
    tenant_fk,
    timestamp,
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
# names; ``name_key`` is Soundex per word, ``services.contacts.name_keys``; see migration
# 0004n for why not pg_trgm).
NAME_NORM = "btrim(regexp_replace(sort_name, '[^[:alnum:]]+', ' ', 'g'))"


def display_name_sql(alias: str) -> str:
    """SQL of a contact's ``display_name`` (``services.contacts.rows.display_name``: "First
    Last", a business's company name) over the ``contacts`` row named ``alias``, for the
    lists and reports that show contacts by name (never the lowercased ``sort_name``)."""
    person = f"concat_ws(' ', nullif({alias}.first_name, ''), nullif({alias}.last_name, ''))"
    return (
        f"CASE WHEN {alias}.kind = 'business' OR {person} = '' "
        f"THEN coalesce(nullif({alias}.company_name, ''), {person}) ELSE {person} END"
    )


# Imports find the contact a row matches by any of its e-mail addresses (without case) or
# phone numbers (E.164): a JSON array of each list's values, GIN-indexed, so a batch's
# keys are probed with ``@>`` (``importing.match``), whatever the workspace's size.
EMAIL_KEYS = "CAST(lower(CAST(jsonb_path_query_array(emails, '$[*].address') AS text)) AS jsonb)"
PHONE_KEYS = "jsonb_path_query_array(phones, '$[*].number')"
# Without GIN's pending list (``fastupdate``): an import probes these indexes a thousand
# times a batch right after inserting into them, and every probe would read the whole
# list of entries not yet merged (up to 4 MB): 100,000 rows took 236 s instead of 17.
_GIN_PROBED: dict[str, Any] = {"postgresql_using": "gin", "postgresql_with": {"fastupdate": "off"}}


class Contact(IdMixin, table=True):
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
        Index("ix_contacts_workspace_id_owner_id", "workspace_id", "owner_id"),
        # A member's agenda: their advocates and core advocates about to lapse.
        Index(
            "ix_contacts_workspace_id_owner_id_advocates",
            "workspace_id",
            "owner_id",
            postgresql_where=text("advocacy_stage IN ('advocate', 'core_advocate')"),
        ),
        Index("ix_contacts_search", "search", postgresql_using="gin"),
        Index("ix_contacts_tags", "tags", postgresql_using="gin"),
        Index("ix_contacts_workspace_id_name_key", "workspace_id", "name_key"),
        Index("ix_contacts_workspace_id_name_norm", "workspace_id", text(NAME_NORM)),
        Index("ix_contacts_email_keys", text(EMAIL_KEYS), **_GIN_PROBED),
        Index("ix_contacts_phone_keys", text(PHONE_KEYS), **_GIN_PROBED),
    )

    kind: str = column(String(16), default="person")
    first_name: str | None = column(String(200), default=None)
    last_name: str | None = column(String(200), default=None)
    company_name: str | None = column(String(300), default=None)
    sort_name: str = column(String(600))
    company: str | None = column(String(300), default=None)
    job_title: str | None = column(String(200), default=None)
    emails: list[dict[str, Any]] = column(JSONB, default_factory=list)
    phones: list[dict[str, Any]] = column(JSONB, default_factory=list)
    primary_email: str | None = column(String(320), default=None)
    primary_phone: str | None = column(String(32), default=None)
    email_search: str | None = column(String(4000), default=None)
    phone_search: str | None = column(String(2000), default=None)
    address: dict[str, Any] | None = column(JSONB, default=None)
    time_zone: str | None = column(String(64), default=None)
    locale: str | None = column(String(35), default=None)
    owner_id: uuid.UUID | None = None
    segment: str = column(String(32), default="prospect")
    allied_category: str | None = column(String(64), default=None)
    advocacy_stage: str = column(String(32), default="seeker")
    advocacy_stage_manual: bool = False
    family: list[dict[str, Any]] = column(JSONB, default_factory=list)
    interests: list[str] = column(ARRAY(String(100)), default_factory=list)
    tags: list[str] = column(ARRAY(String(100)), default_factory=list)
    custom_fields: dict[str, Any] = column(JSONB, default_factory=dict)
    consent: dict[str, Any] = column(JSONB, default_factory=dict)
    do_not_contact: bool = False
    last_engaged_at: datetime | None = timestamp(default=None)
    lapsed_at: datetime | None = timestamp(default=None)
    search: str = generated(TSVECTOR, SEARCH_DOCUMENT)
    name_key: str = column(Text)  # derived with sort_name (rows.derive)
    version: int = 1
    created_at: datetime = created_at_column()
    updated_at: datetime = created_at_column()


class ContactExternalId(TenantMixin, table=True):
    """``(source, external_id)`` → contact: the key CRM syncs upsert by, unique per workspace."""

    __tablename__ = "contact_external_ids"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        Index("ix_contact_external_ids_workspace_id_contact_id", "workspace_id", "contact_id"),
    )

    source: str = column(String(64), primary_key=True)
    external_id: str = column(String(255), primary_key=True)
    contact_id: uuid.UUID


class Observance(IdMixin, table=True):
    """A yearly date of a contact: birthday, anniversary, home/closing anniversary, custom."""

    __tablename__ = "observances"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        Index("ix_observances_workspace_id_contact_id", "workspace_id", "contact_id"),
        Index("ix_observances_workspace_id_month_day", "workspace_id", "month", "day"),
    )

    contact_id: uuid.UUID
    kind: str = column(String(32))
    label: str | None = column(String(200), default=None)
    month: int
    day: int
    year: int | None = None
    created_at: datetime = created_at_column()


class Interaction(IdMixin, table=True):
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

    contact_id: uuid.UUID
    member_id: uuid.UUID | None = None
    channel: str = column(String(32))
    direction: str = column(String(16))
    occurred_at: datetime = timestamp()
    summary: str | None = column(String(10000), default=None)
    duration_seconds: int | None = None
    touch_id: uuid.UUID | None = None
    actor: dict[str, Any] | None = column(JSONB, default=None)
    created_at: datetime = created_at_column()


class ContactShare(TenantMixin, table=True):
    """A contact shared with a member besides its owner (record visibility ``own``)."""

    __tablename__ = "contact_shares"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        tenant_fk(["member_id"], "members", ondelete="CASCADE"),
        Index("ix_contact_shares_workspace_id_member_id", "workspace_id", "member_id"),
    )

    contact_id: uuid.UUID = column(primary_key=True)
    member_id: uuid.UUID = column(primary_key=True)
    created_at: datetime = created_at_column()
