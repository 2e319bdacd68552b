"""Fair use: how many requests a credential may make, and the shared bucket that counts them.

A credential (an API key, or a member signed in with a token) draws from a token bucket
that holds ``burst`` requests and refills at ``requests_per_minute``. The bucket's level
lives in ``rate_limit_buckets`` so that every replica draws from the same one; a replica
takes tokens from it in leases (``app.services.platform.rate_limits``), not one per
request, so the table is touched once per lease, not once per request.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field, model_validator
from sqlalchemy import Double

from app.models.platform.base import TenantMixin, column, timestamp, workspace_fk
from app.models.platform.common import InputModel, OutputModel

MAX_PER_MINUTE = 10_000_000


class RateLimitBucket(TenantMixin, table=True):
    """One credential's shared bucket: ``tokens`` left at ``refilled_at``; ``granted`` is
    what the latest lease took (the statement that leases returns it)."""

    __tablename__ = "rate_limit_buckets"
    __table_args__ = (workspace_fk(),)

    subject_id: uuid.UUID = column(primary_key=True)
    tokens: float = column(Double)
    granted: int = 0
    refilled_at: datetime = timestamp()


class RateLimit(InputModel):
    """A token bucket: up to `burst` requests at once, refilled at `requests_per_minute`."""

    requests_per_minute: int = Field(
        ge=1,
        le=MAX_PER_MINUTE,
        description="The sustained rate: the bucket refills by this many a minute.",
        examples=[600],
    )
    burst: int | None = Field(
        default=None,
        ge=1,
        le=MAX_PER_MINUTE,
        description="How many requests may come at once (the bucket's size); "
        "default `requests_per_minute`.",
        examples=[100],
    )

    @model_validator(mode="after")
    def _burst_defaults_to_a_minute(self) -> RateLimit:
        if self.burst is None:
            self.burst = self.requests_per_minute
        return self


class RateLimitRead(OutputModel):
    requests_per_minute: int = Field(examples=[600])
    burst: int = Field(examples=[600])


def rate_limit_of(per_minute: int | None, burst: int | None) -> RateLimitRead | None:
    """The stored pair as the API shows it; null when none is set here."""
    if per_minute is None:
        return None
    return RateLimitRead(requests_per_minute=per_minute, burst=burst or per_minute)
