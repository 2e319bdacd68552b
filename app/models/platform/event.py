"""The event outbox: every change worth telling the outside world about, in commit order.

``txid`` is the writing transaction's id. Readers only see events whose transaction is
older than every transaction still running (``pg_snapshot_xmin``) and page by
``(txid, id)``, so an event that commits late can never land behind a reader's cursor.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import BigInteger, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB

from app.models.platform.audit import Actor
from app.models.platform.base import (
    TenantMixin,
    column,
    created_at_column,
    identity_key,
    workspace_fk,
)
from app.models.platform.common import OutputModel

#: The contact ids an event's data may carry: the subject of ``contact.*`` events, the
#: contact of touch, enrolment and reward events, and the people of referral events.
CONTACT_REFS = (
    "ARRAY[data ->> 'id'::text, data ->> 'contact_id'::text, "
    "data ->> 'source_contact_id'::text, data ->> 'referred_contact_id'::text, "
    "data ->> 'partner_contact_id'::text]"
)


SYSTEM_ACTOR_SQL = """'{"type": "system", "id": null, "name": "system"}'::jsonb"""


class Event(TenantMixin, table=True):
    __tablename__ = "events"
    __table_args__ = (
        workspace_fk(),
        Index("ix_events_workspace_id_txid_id", "workspace_id", "txid", "id"),
        Index("ix_events_workspace_id_type_txid_id", "workspace_id", "type", "txid", "id"),
        # Erasure finds the events about a contact by the ids their data carries
        # (app.services.contacts.erasure queries this very expression).
        Index("ix_events_contact_refs", text(CONTACT_REFS), postgresql_using="gin"),
    )

    id: int = identity_key()
    event_uid: uuid.UUID = column(default_factory=uuid.uuid4)
    txid: int = column(BigInteger, server_default=text("(pg_current_xact_id()::text)::bigint"))
    type: str = column(String(64))
    occurred_at: datetime = created_at_column()
    data: dict[str, Any] = column(JSONB)
    # Writers name who acted; an event written by a job (touch.due) or by SQL that names
    # nobody is the system's. Events from before actors were recorded have none.
    actor: dict[str, Any] | None = column(
        JSONB, nullable=True, server_default=text(SYSTEM_ACTOR_SQL)
    )


class EventRead(OutputModel):
    id: str = Field(
        description="The event id, also sent as `webhook-id`.", examples=["evt_2q8c..."]
    )
    type: str = Field(examples=["contact.created"])
    timestamp: datetime
    data: dict[str, Any]
    actor: Actor | None = Field(
        default=None, description="Who made the change: a member, an API key, or `system`."
    )
