"""The audit log: every change attributed to the member, key or job that made it.

Three writers, all in the transaction of the change they describe:

* ``record_change`` for changes made by Core statements (contacts, API key revocation),
  with each changed field's value before and after;
* a session hook for changes made through table objects (members, workspaces, referrals,
  rewards, reward programs, webhook endpoints): it reads SQLAlchemy's attribute history
  at flush, so no service can forget to log a field;
* ``record_request``, which the route class calls after any other successful write
  (an observance added, a touch's outcome...): the operation, its resource and its id.

A request that wrote a detailed row gets no generic one. Secret columns are logged as
changed, never with their values. Rows are kept ``RAPPORT_AUDIT_RETENTION_DAYS`` and purged
by the scheduler a bounded batch at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import CTE, String, and_, bindparam, event, literal, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history
from sqlmodel import col

from app.clock import Clock
from app.config import Settings
from app.db import Database
from app.models.platform.audit import Actor as ActorRead
from app.models.platform.audit import AuditEntry, AuditEntryRead
from app.models.platform.common import utc_text
from app.request_context import current_request_id
from app.services.platform.pagination import PageRequest, keyset_page
from app.services.platform.principals import current_actor, mark_audited
from app.services.platform.scheduler import in_batches

REDACTED = "<redacted>"
SECRET_COLUMNS = frozenset({"secret", "previous_secret", "secret_hash"})
#: Table objects whose field changes are logged with before and after, by table name:
#: the resource type each is logged as.
TRACKED = {
    "members": "member",
    "workspaces": "workspace",
    "referrals": "referral",
    "rewards": "reward",
    "reward_programs": "reward_program",
    "webhook_endpoints": "webhook_endpoint",
    "api_keys": "api_key",
}
#: Bookkeeping every change moves; logging it would only repeat the row's existence.
_NOT_LOGGED = frozenset({"version", "updated_at", "created_at"})
PURGE_BATCH = 5000
_PENDING = "rapport.audit_pending"  # session.info: rows of this flush, written after it


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return utc_text(value)  # as the API writes times: UTC with Z
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def changes_between(
    before: Mapping[str, Any], after: Mapping[str, Any], fields: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """``{field: {"before": …, "after": …}}`` for the fields whose value differs."""
    changed: dict[str, dict[str, Any]] = {}
    for name in fields:
        old, new = before.get(name), after.get(name)
        if old != new and name not in _NOT_LOGGED:
            secret = name in SECRET_COLUMNS
            changed[name] = {
                "before": REDACTED if secret and old is not None else jsonable(old),
                "after": REDACTED if secret and new is not None else jsonable(new),
            }
    return changed


def _row(
    workspace_id: uuid.UUID,
    action: str,
    resource_type: str,
    resource_id: object,
    changes: Mapping[str, Any],
    at: datetime,
) -> dict[str, Any]:
    actor = current_actor()
    return {
        "workspace_id": workspace_id,
        "at": at,
        "actor_type": actor.type,
        "actor_id": actor.id,
        "actor_name": actor.name[:200],
        "action": action[:64],
        "resource_type": resource_type[:32],
        "resource_id": None if resource_id is None else str(resource_id)[:64],
        "changes": dict(changes),
        "request_id": (current_request_id() or "")[:64] or None,
    }


async def record_change(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    action: str,
    resource_type: str,
    resource_id: object,
    changes: Mapping[str, Any] | None = None,
    at: datetime,
) -> None:
    """Log a change made by a Core statement, in the caller's transaction."""
    row = _row(workspace_id, action, resource_type, resource_id, changes or {}, at)
    await session.execute(insert(AuditEntry).values(row))
    mark_audited()


async def record_request(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    operation: str,
    resource_type: str,
    resource_id: object,
    at: datetime,
) -> None:
    """The route class's row for a write no service logged in detail."""
    await record_change(
        session,
        workspace_id,
        action=operation,
        resource_type=resource_type,
        resource_id=resource_id,
        at=at,
    )


def audited_with(new: CTE, action: str, resource_type: str) -> CTE:
    """A CTE logging ``action`` for each row of ``new`` (columns ``workspace_id``, ``id``)
    in the statement that makes it (the contact create, one statement). Binds ``at`` and
    the actor's ``audit_*`` parameters (``audit_params()``)."""
    table = AuditEntry.__table__
    values = select(
        new.c.workspace_id,
        bindparam("at"),
        bindparam("audit_actor_type", type_=String),
        bindparam("audit_actor_id"),
        bindparam("audit_actor_name", type_=String),
        literal(action, String),
        literal(resource_type, String),
        new.c.id.cast(String),
        literal("{}", String).cast(JSONB),
        bindparam("audit_request_id", type_=String),
    )
    columns = [
        "workspace_id",
        "at",
        "actor_type",
        "actor_id",
        "actor_name",
        "action",
        "resource_type",
        "resource_id",
        "changes",
        "request_id",
    ]
    return insert(table).from_select(columns, values).cte("audited")


def audit_params() -> dict[str, Any]:
    """``audited_with``'s binds for the request's actor; the request counts as audited."""
    actor = current_actor()
    mark_audited()
    return {
        "audit_actor_type": actor.type,
        "audit_actor_id": actor.id,
        "audit_actor_name": actor.name[:200],
        "audit_request_id": (current_request_id() or "")[:64] or None,
    }


@event.listens_for(Session, "before_flush")
def _log_tracked(session: Session, _context: Any, _instances: Any) -> None:
    """Changes of tracked table objects, from their attribute history, as they flush."""
    rows: list[dict[str, Any]] = []
    for obj, verb in (
        *((o, "created") for o in session.new),
        *((o, "updated") for o in session.dirty),
        *((o, "deleted") for o in session.deleted),
    ):
        table = getattr(obj, "__tablename__", None)
        kind = TRACKED.get(table) if isinstance(table, str) else None
        if kind is None:
            continue
        changes: dict[str, dict[str, Any]] = {}
        if verb == "updated":
            for name in type(obj).model_fields:
                history = get_history(obj, name)
                if history.has_changes() and history.deleted:
                    before = {name: history.deleted[0]}
                    after = {name: history.added[0] if history.added else None}
                    changes.update(changes_between(before, after, [name]))
            if not changes:
                continue
        workspace_id = getattr(obj, "workspace_id", None) or getattr(obj, "id", None)
        when = getattr(obj, "updated_at", None) or getattr(obj, "created_at", None)
        if not isinstance(workspace_id, uuid.UUID) or not isinstance(when, datetime):
            continue
        rows.append(_row(workspace_id, f"{kind}.{verb}", kind, obj.id, changes, when))
    if rows:
        session.info.setdefault(_PENDING, []).extend(rows)
        mark_audited()


@event.listens_for(Session, "after_flush")
def _write_tracked(session: Session, _context: Any) -> None:
    """Written after the flush, not added to it: the unit of work does not order an
    unrelated row after the workspace it names (its foreign key)."""
    rows = session.info.pop(_PENDING, None)
    if rows:
        session.connection().execute(insert(AuditEntry.__table__), rows)


async def list_audit(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    page: PageRequest,
    *,
    actor_id: uuid.UUID | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[AuditEntryRead], str | None]:
    """Newest first, filtered by who, what and when; keyset pages."""
    a = AuditEntry
    stmt = select(a).where(col(a.workspace_id) == workspace_id)
    if actor_id is not None:
        stmt = stmt.where(col(a.actor_id) == actor_id)
    if resource_type is not None:
        stmt = stmt.where(col(a.resource_type) == resource_type)
    if resource_id is not None:
        stmt = stmt.where(col(a.resource_id) == resource_id)
    if since is not None:
        stmt = stmt.where(col(a.at) >= since)
    if until is not None:
        stmt = stmt.where(col(a.at) < until)
    rows, cursor = await keyset_page(
        session, stmt, keys=[col(a.id)], page=page, sort="audit", descending=True
    )
    return [_read(r[0]) for r in rows], cursor


def _read(entry: AuditEntry) -> AuditEntryRead:
    actor = ActorRead(
        type=entry.actor_type,
        id=entry.actor_id,
        name=entry.actor_name or entry.actor_type,
    )
    return AuditEntryRead(
        id=entry.id,
        at=entry.at,
        actor=actor,
        action=entry.action,
        resource_type=entry.resource_type,
        resource_id=entry.resource_id,
        changes=entry.changes,
        request_id=entry.request_id,
    )


_PURGE = text(
    """
    DELETE FROM audit_log
     WHERE ctid = ANY(ARRAY(SELECT ctid FROM audit_log WHERE at < :cutoff LIMIT :limit))
    """
)


async def purge_audit_log(db: Database, clock: Clock, settings: Settings) -> int:
    """The scheduler's job: drop rows older than the retention, a bounded batch at a time
    (the BRIN index on ``at`` finds them without reading the table)."""
    cutoff = clock.now() - timedelta(days=settings.audit_retention_days)

    async def batch(session: AsyncSession) -> int:
        result = await session.execute(_PURGE, {"cutoff": cutoff, "limit": PURGE_BATCH})
        return int(getattr(result, "rowcount", 0) or 0)

    return await in_batches(db, settings, batch, PURGE_BATCH)


async def scrub_resources(
    session: AsyncSession, workspace_id: uuid.UUID, resource_type: str, ids: Iterable[str]
) -> None:
    """Erasure: the field values logged for these resources go (the rows stay, saying a
    change happened and who made it)."""
    table = AuditEntry.__table__
    stmt = (
        table.update()
        .where(
            and_(
                table.c.workspace_id == workspace_id,
                table.c.resource_type == resource_type,
                table.c.resource_id.in_(list(ids)),
            )
        )
        .values(changes={})
    )
    await session.execute(stmt)
