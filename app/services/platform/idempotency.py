"""Idempotency keys: a retried POST returns what the first attempt returned.

The check and the stored response live in the request's own transaction, so a response
is remembered exactly when the change it reports was committed. A transaction-scoped
advisory lock on the key tells a concurrent duplicate that the first is still in flight.

Secrets a response shows once (a new API key, a webhook signing secret) are not kept:
``redact`` replaces them by ``REDACTED`` before the response is stored, and the replay
says so in ``Idempotent-Redacted``. Encrypting them for the replay was the alternative;
it would put a decryptable copy of every fresh key in a table that is kept for a day.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import Clock
from app.config import Settings
from app.db import Database
from app.errors import Conflict, ValidationFailed
from app.models.platform.idempotency import IdempotencyRecord
from app.services.platform.scheduler import in_batches

MAX_KEY_LENGTH = 255
REDACTED = "<redacted>"
REDACTED_HEADER = "Idempotent-Redacted"


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes


def redact(response: StoredResponse, fields: Set[str]) -> StoredResponse:
    """``response`` with the values of ``fields`` in its JSON object body replaced.

    The replay then names the redacted fields in ``Idempotent-Redacted``. A body that is
    not a JSON object while secret fields are declared is a programming error: refusing
    it loudly beats storing something that might hold the secret.
    """
    if not fields:
        return response
    document = json.loads(response.body)
    if not isinstance(document, dict):
        raise TypeError("a response with secret fields must be a JSON object")
    present = sorted(f for f in fields if f in document)
    if not present:
        return response
    for name in present:
        document[name] = REDACTED
    headers = {**response.headers, REDACTED_HEADER: ", ".join(present)}
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    return StoredResponse(response.status_code, headers, body)


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed.on(
            ["header", "Idempotency-Key"], f"must be 1-{MAX_KEY_LENGTH} printable characters"
        )


async def begin(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    key: str,
    fingerprint: str,
    *,
    at: datetime,
) -> StoredResponse | None:
    """Claim ``key`` for this request, or return the response stored for it."""
    check_key(key)
    lock_id = f"idem:{workspace_id}:{key}"
    locked = await session.scalar(
        select(func.pg_try_advisory_xact_lock(func.hashtextextended(lock_id, 0)))
    )
    if not locked:
        raise Conflict("a request with this Idempotency-Key is still being processed")
    stmt = select(IdempotencyRecord).where(
        col(IdempotencyRecord.workspace_id) == workspace_id,
        col(IdempotencyRecord.key) == key,
        col(IdempotencyRecord.expires_at) > at,
    )
    record = (await session.execute(stmt)).scalar_one_or_none()
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise ValidationFailed.on(
            ["header", "Idempotency-Key"],
            "this key was already used with a different request body or path",
        )
    return StoredResponse(record.status_code, dict(record.headers), record.body)


async def remember(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    key: str,
    fingerprint: str,
    response: StoredResponse,
    *,
    at: datetime,
    ttl: timedelta,
) -> None:
    values: dict[str, Any] = {
        "workspace_id": workspace_id,
        "key": key,
        "request_hash": fingerprint,
        "status_code": response.status_code,
        "headers": response.headers,
        "body": response.body,
        "location": response.headers.get("location"),
        "created_at": at,
        "expires_at": at + ttl,
    }
    stmt = insert(IdempotencyRecord).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["workspace_id", "key"],
        set_={k: stmt.excluded[k] for k in values if k not in ("workspace_id", "key")},
    )
    await session.execute(stmt)


async def answer_deleted(
    session: AsyncSession, workspace_id: uuid.UUID, path: str, gone: StoredResponse
) -> None:
    """The keys whose POST created ``path``, now deleted, answer ``gone`` from now on.

    Replayed as stored, they answered 201 with a ``Location`` that is a 404 (Schemathesis'
    stateful phase: a create, its delete, the create again with the same key). Creating
    anew instead would apply one request twice, and bring back what someone deleted (or
    erased); so the key keeps its one effect and says it is gone."""
    await session.execute(
        update(IdempotencyRecord)
        .where(
            col(IdempotencyRecord.workspace_id) == workspace_id,
            col(IdempotencyRecord.location) == path,
        )
        .values(status_code=gone.status_code, headers=gone.headers, body=gone.body, location=None)
    )


async def purge_expired(session: AsyncSession, *, at: datetime, limit: int = 5000) -> int:
    """Delete up to ``limit`` records expired by ``at``; returns how many went.

    Set-based and bounded, so one call never holds a long transaction; rows a request is
    rewriting right now are skipped (``SKIP LOCKED``) rather than waited for, and go on a
    later call. Served by the index on ``expires_at``.
    """
    r = IdempotencyRecord
    doomed = (
        select(col(r.workspace_id), col(r.key))
        .where(col(r.expires_at) <= at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = delete(r).where(tuple_(r.workspace_id, r.key).in_(doomed))
    result = await session.execute(stmt)
    return int(cast(CursorResult[Any], result).rowcount)


PURGE_BATCH = 5000


async def purge_idempotency_keys(db: Database, clock: Clock, settings: Settings) -> int:
    """The scheduler's job: delete expired records, a bounded batch per transaction.

    An index on ``expires_at`` makes a tick with nothing expired one index probe.
    """
    return await in_batches(
        db,
        settings,
        lambda session: purge_expired(session, at=clock.now(), limit=PURGE_BATCH),
        PURGE_BATCH,
    )
