"""Rate limits: a token bucket per credential, shared by every replica through PostgreSQL.

Each credential (an API key, or a member signed in with a token) has a bucket holding up
to ``burst`` requests, refilled at ``requests_per_minute``; a request takes one token, and
none left answers 429. The bucket's level is a row of ``rate_limit_buckets``, so two
replicas draw from one bucket. Touching that row on every request would add a write to
every read (a GET of a contact is ~0.3 ms of server CPU; a locked upsert costs more than
that), so a replica **leases** tokens: one statement takes up to ``lease_size(burst)``
tokens (a fiftieth of the bucket) from the shared row, and the replica spends them in
memory, one per request, before it asks again. A lease is one round trip for many
requests; its price is precision: tokens a replica leased but has not spent are held back
from the others, at most a fiftieth of the bucket per replica (two replicas: within 4%).

When the shared bucket is empty the replica remembers until when (the next token's
refill) and answers 429 from memory until then, so a client hammering past its limit
costs no database work. Time comes from the caller (the app's injected clock).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from cachetools import LRUCache
from sqlalchemy import text

from app.db import Database

#: A lease takes at most this share of the bucket (see the module's docstring).
LEASE_SHARE = 1 / 50
WINDOW_SECONDS = 60
POLICY = "default"

_AVAILABLE = (
    "LEAST(:burst, b.tokens + :rate * "
    "GREATEST(0, EXTRACT(EPOCH FROM (:now - b.refilled_at))::float8))"
)
#: Take up to ``want`` whole tokens from the shared bucket after refilling it for the time
#: since its last lease; a new bucket starts full. Every SET reads the row as it was, so
#: ``granted`` and ``tokens`` agree; the row lock orders concurrent leases.
_LEASE = text(
    f"""
    INSERT INTO rate_limit_buckets AS b (workspace_id, subject_id, tokens, granted, refilled_at)
    VALUES (:ws, :subject, CAST(:burst AS float8) - :want, :want, :now)
    ON CONFLICT (workspace_id, subject_id) DO UPDATE SET
        tokens = {_AVAILABLE} - LEAST(:want, FLOOR({_AVAILABLE})),
        granted = LEAST(:want, FLOOR({_AVAILABLE}))::int,
        refilled_at = GREATEST(b.refilled_at, :now)
    RETURNING granted, tokens
    """
)


def lease_size(burst: int) -> int:
    return max(1, math.ceil(burst * LEASE_SHARE))


@dataclass(frozen=True)
class Decision:
    """What one request was told: the IETF ``RateLimit-Policy`` and ``RateLimit`` fields
    (quota ``q`` per window ``w``; ``r`` requests remaining, ``t`` seconds until the
    bucket is full again) and, when refused, ``retry_after`` seconds."""

    allowed: bool
    per_minute: int
    remaining: int
    reset: int
    retry_after: int = 0

    @property
    def policy_header(self) -> str:
        return f'"{POLICY}";q={self.per_minute};w={WINDOW_SECONDS}'

    @property
    def header(self) -> str:
        return f'"{POLICY}";r={self.remaining};t={self.reset}'


@dataclass
class _Bucket:
    """This replica's view of one credential's bucket."""

    per_minute: int
    burst: int
    leased: int = 0  # tokens this replica took and has not spent
    shared: float = 0.0  # tokens the shared bucket had after this replica's last lease
    seen_at: float = 0.0  # when (epoch seconds)
    empty_until: float = -math.inf  # the shared bucket has no whole token before this
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def rate(self) -> float:
        return self.per_minute / WINDOW_SECONDS

    def level(self, now: float) -> float:
        refilled = self.shared + self.rate * max(0.0, now - self.seen_at)
        return min(float(self.burst), self.leased + min(float(self.burst), refilled))

    def decision(self, now: float, *, allowed: bool) -> Decision:
        level = self.level(now)
        reset = math.ceil(max(0.0, self.burst - level) / self.rate)
        if allowed:
            return Decision(True, self.per_minute, int(level), reset)
        wait = max(self.empty_until - now, (1 - min(level, 1.0)) / self.rate)
        return Decision(False, self.per_minute, 0, reset, retry_after=max(1, math.ceil(wait)))


class RateLimiter:
    """Decides each request against its credential's bucket (one per process)."""

    def __init__(self, *, maxsize: int = 100_000) -> None:
        # A credential forgotten here loses only its unspent lease (at most 1/50 of it).
        self._buckets: LRUCache[uuid.UUID, _Bucket] = LRUCache(maxsize=maxsize)

    async def take(
        self,
        db: Database,
        workspace_id: uuid.UUID,
        subject_id: uuid.UUID,
        *,
        per_minute: int,
        burst: int,
        at: datetime,
    ) -> Decision:
        now = at.timestamp()
        bucket = self._buckets.get(subject_id)
        if bucket is None or (bucket.per_minute, bucket.burst) != (per_minute, burst):
            bucket = self._buckets[subject_id] = _Bucket(per_minute, burst)
        if bucket.leased < 1 and now >= bucket.empty_until:
            async with bucket.lock:  # one lease at a time; others wait and share it
                if bucket.leased < 1:
                    await self._lease(db, workspace_id, subject_id, bucket, at)
        if bucket.leased < 1:
            return bucket.decision(now, allowed=False)
        bucket.leased -= 1
        return bucket.decision(now, allowed=True)

    async def _lease(
        self,
        db: Database,
        workspace_id: uuid.UUID,
        subject_id: uuid.UUID,
        bucket: _Bucket,
        at: datetime,
    ) -> None:
        params = {
            "ws": workspace_id,
            "subject": subject_id,
            "burst": bucket.burst,
            "rate": bucket.rate,
            "want": lease_size(bucket.burst),
            "now": at,
        }
        async with db.transaction() as session:
            granted, tokens = (await session.execute(_LEASE, params)).one()
        now = at.timestamp()
        bucket.leased += int(granted)
        bucket.shared = float(tokens)
        bucket.seen_at = now
        if granted == 0:
            bucket.empty_until = now + (1 - bucket.shared) / bucket.rate
