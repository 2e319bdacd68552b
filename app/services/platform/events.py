"""The outbox: record events with the change they describe, and read them in order.

Recording happens on the caller's session, so the event commits or rolls back with the
change. Readers page by ``(txid, id)`` and see only transactions older than every one
still running (see ``app.models.platform.event``), so a poller never skips a late commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CTE,
    DateTime,
    FromClause,
    String,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from app.driver import DriverStatement, fetch_column
from app.json_codec import to_json
from app.models.platform.event import Event, EventRead
from app.models.platform.event_catalogue import WEBHOOK_TEST
from app.services.platform.fanout import deliveries_of
from app.services.platform.pagination import PageRequest, keyset_page
from app.services.platform.principals import current_actor

EVENT_ID_PREFIX = "evt_"
# The events and their webhook deliveries in one statement: the deliveries are selected
# from the rows the insert returns (a data-modifying CTE), so recording costs one round
# trip and one execute, not two (each was a sixth of POST /v1/contacts' CPU). Rows go in
# in the order given (WITH ORDINALITY), so sorted ids match the items. Data arrives as
# JSON text, serialised by ``to_json`` as the engine's JSON type would; their ids are
# PostgreSQL's (an import's 1,000 ``uuid4()`` calls were 3 ms of its CPU). The statement
# runs on the driver (``fetch_column``): SQLAlchemy's execute path was most of its CPU.
_RECORD = text(
    f"""
    WITH e AS (
        INSERT INTO events (workspace_id, event_uid, type, occurred_at, data, actor)
        SELECT CAST(:workspace_id AS uuid), gen_random_uuid(), x.type,
               CAST(:at AS timestamptz), CAST(x.data AS jsonb), CAST(:actor AS jsonb)
        FROM unnest(CAST(:types AS text[]), CAST(:datas AS text[]))
             WITH ORDINALITY AS x(type, data, n)
        ORDER BY x.n
        RETURNING id, workspace_id, type, data
    ), deliveries AS ({deliveries_of("e", "e.workspace_id = CAST(:workspace_id AS uuid)")})
    SELECT id FROM e ORDER BY id
    """
)
_RECORD_DRIVER = DriverStatement(_RECORD)  # on the driver once the transaction has begun


def recorded_with(rows: FromClause, event_type: str) -> tuple[CTE, CTE]:
    """CTEs recording an ``event_type`` event for each row of ``rows`` (columns
    ``workspace_id`` and ``data``, the event's JSON as text) and its webhook deliveries:
    for a statement that makes a change and records its event at once, as ``_RECORD``
    does for events given as parameters. Binds ``at``, ``test_type`` and
    ``actor`` (``record_params()``); add the CTEs to the statement (``Select.add_cte``).
    """
    events = Event.__table__
    at = bindparam("at", type_=DateTime(timezone=True))
    columns = ["workspace_id", "event_uid", "type", "occurred_at", "data", "actor"]
    values = select(
        rows.c.workspace_id,
        func.gen_random_uuid(),
        literal(event_type, String),
        at,
        rows.c.data.cast(JSONB),
        bindparam("actor", type_=String).cast(JSONB),
    )
    recorded = (
        insert(events)
        .from_select(columns, values)
        .returning(events.c.id, events.c.workspace_id, events.c.type, events.c.data)
        .cte("e")
    )
    deliveries = text(deliveries_of("e")).bindparams(at).columns().cte("deliveries")
    return recorded, deliveries


def record_params() -> dict[str, Any]:
    """The binds ``recorded_with``'s CTEs need besides ``at``: who acts, from the request."""
    return {"test_type": WEBHOOK_TEST, "actor": to_json(current_actor().as_json())}


def public_event_id(event_uid: uuid.UUID) -> str:
    return f"{EVENT_ID_PREFIX}{event_uid.hex}"


async def record_events(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    items: Sequence[tuple[str, dict[str, Any]]],
    *,
    at: datetime,
) -> list[int]:
    """Insert events and their webhook deliveries in one statement, inside the caller's
    transaction (deliveries commit with their events); returns the ids in item order."""
    serialised = [(event_type, to_json(data)) for event_type, data in items]
    return await record_serialised_events(session, workspace_id, serialised, at=at)


async def record_serialised_events(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    items: Sequence[tuple[str, str]],
    *,
    at: datetime,
) -> list[int]:
    """``record_events`` for data already serialised as JSON text (``to_json``): the
    import builds each event's JSON as it makes the event."""
    if not items:
        return []
    params = {
        "workspace_id": workspace_id,
        "at": at,
        "types": [event_type for event_type, _ in items],
        "datas": [data for _, data in items],
        "test_type": WEBHOOK_TEST,
        "actor": to_json(current_actor().as_json()),
    }
    return [int(i) for i in await fetch_column(session, _RECORD_DRIVER, params)]


async def record_event(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    *,
    at: datetime,
) -> int:
    (event_id,) = await record_events(session, workspace_id, [(event_type, data)], at=at)
    return event_id


def _visible_horizon() -> ColumnElement[int]:
    """Transactions below this id have all finished; newer events may still be joined."""
    return literal_column("(pg_snapshot_xmin(pg_current_snapshot())::text)::bigint")


async def list_events(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    types: Sequence[str],
    page: PageRequest,
) -> tuple[list[EventRead], str | None]:
    own_txid: ColumnElement[int] = literal_column(
        "(pg_current_xact_id_if_assigned()::text)::bigint"
    )
    stmt = select(
        col(Event.event_uid),
        col(Event.type),
        col(Event.occurred_at),
        col(Event.data),
        col(Event.actor),
    ).where(
        col(Event.workspace_id) == workspace_id,
        or_(col(Event.txid) < _visible_horizon(), col(Event.txid) == own_txid),
    )
    if types:
        stmt = stmt.where(col(Event.type).in_(list(types)))
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(Event.txid), col(Event.id)],
        page=page,
        sort="events",
        tail_cursor=True,
    )
    return [
        EventRead(
            id=public_event_id(r.event_uid),
            type=r.type,
            timestamp=r.occurred_at,
            data=r.data,
            actor=r.actor,
        )
        for r in rows
    ], cursor


async def count_events(session: AsyncSession, workspace_id: uuid.UUID) -> int:
    stmt = select(func.count()).select_from(Event).where(col(Event.workspace_id) == workspace_id)
    return int((await session.execute(stmt)).scalar_one())
