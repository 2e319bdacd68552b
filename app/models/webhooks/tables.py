"""Webhook endpoints, their deliveries and every attempt made, plus the API schemas.

A delivery is one (endpoint, event) pair: it is created by the fan-out in the same
transaction as the event and is the unit the dispatcher claims, retries and replays, so
its ``webhook-id`` (the event's id) never changes. Attempts are append-only history.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator
from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY

from app.models.platform import (
    SECRET,
    IdMixin,
    InputModel,
    OutputModel,
    UtcDatetime,
    column,
    created_at_column,
    filter_problem,
    tenant_fk,
    timestamp,
    workspace_fk,
)

DeliveryStatus = Literal["pending", "delivering", "succeeded", "failed", "cancelled"]
RESPONSE_BODY_LIMIT = 2048
MAX_FILTERS = 50


class WebhookEndpoint(IdMixin, table=True):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (workspace_fk(),)

    url: str = column(String(2048))
    description: str = column(String(500), default="")
    event_types: list[str] = column(ARRAY(String(64)), default_factory=list)
    enabled: bool = True
    secret: str = column(String(128))
    previous_secret: str | None = column(String(128), default=None)
    previous_secret_expires_at: datetime | None = timestamp(default=None)
    disabled_reason: str | None = column(String(300), default=None)
    first_failure_at: datetime | None = timestamp(default=None)
    last_success_at: datetime | None = timestamp(default=None)
    version: int = 1
    created_at: datetime = created_at_column()
    updated_at: datetime = created_at_column()


class WebhookDelivery(IdMixin, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["endpoint_id"], "webhook_endpoints", ondelete="CASCADE"),
        tenant_fk(["event_id"], "events", ondelete="CASCADE"),
        UniqueConstraint("workspace_id", "endpoint_id", "event_id"),
        # The dispatcher's claim runs across workspaces: due work first, then lost leases.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        # ... and shares it out by workspace (webhook_bookkeeping._CLAIM).
        Index(
            "ix_webhook_deliveries_pending_by_workspace",
            "workspace_id",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_webhook_deliveries_leased",
            "lease_expires_at",
            postgresql_where=text("status = 'delivering'"),
        ),
        Index(
            "ix_webhook_deliveries_workspace_id_endpoint_id_created_at_id",
            "workspace_id",
            "endpoint_id",
            "created_at",
            "id",
        ),
    )

    endpoint_id: uuid.UUID
    event_id: int = column(BigInteger)
    status: str = column(String(16), default="pending")
    attempt_count: int = 0
    next_attempt_at: datetime | None = timestamp(default=None)
    lease_expires_at: datetime | None = timestamp(default=None)
    leased_by: str | None = column(String(100), default=None)
    last_status_code: int | None = column(Integer, default=None)
    created_at: datetime = created_at_column()
    updated_at: datetime = created_at_column()


class WebhookAttempt(IdMixin, table=True):
    __tablename__ = "webhook_attempts"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["delivery_id"], "webhook_deliveries", ondelete="CASCADE"),
        Index(
            "ix_webhook_attempts_workspace_id_delivery_id_attempted_at",
            "workspace_id",
            "delivery_id",
            "attempted_at",
        ),
    )

    delivery_id: uuid.UUID
    attempted_at: datetime = timestamp()
    status_code: int | None = column(Integer, default=None)
    latency_ms: int = column(Integer, default=0)
    error: str | None = column(String(500), default=None)
    response_body: str | None = column(Text, default=None)


def _check_filters(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    problems = [p for p in (filter_problem(v) for v in values) if p]
    if problems:
        raise ValueError("; ".join(problems))
    return list(dict.fromkeys(values))


FILTER_DOC = 'Exact event types or prefixes like `"touch.*"`; empty means every type.'
URL_DOC = "Where to POST events: https (http only where the operator allowed it)."


class WebhookEndpointCreate(InputModel):
    url: str = Field(
        min_length=1,
        max_length=2048,
        description=URL_DOC,
        examples=["https://crm.example.com/hooks/rapport"],
    )
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(
        default_factory=list,
        max_length=MAX_FILTERS,
        description=FILTER_DOC,
        examples=[["touch.*", "referral.stage_changed"]],
    )
    enabled: bool = True

    _filters = field_validator("event_types")(_check_filters)


class WebhookEndpointUpdate(InputModel):
    url: str | None = Field(default=None, min_length=1, max_length=2048, description=URL_DOC)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] | None = Field(
        default=None, max_length=MAX_FILTERS, description=FILTER_DOC
    )
    enabled: bool | None = Field(
        default=None, description="Re-enabling clears `disabled_reason` and the failure clock."
    )

    _filters = field_validator("event_types")(_check_filters)


class WebhookEndpointRead(OutputModel):
    """An endpoint as listed and read: never carries the secret."""

    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    last_success_at: datetime | None
    first_failure_at: datetime | None = Field(
        description="Start of the current run of failures; null while healthy."
    )
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecret(WebhookEndpointRead):
    """Returned by create and rotate-secret only: the one time the secret is shown."""

    secret: Annotated[str, SECRET] = Field(
        description="Verify signatures with it (`whsec_…`); it is not shown again. A replay "
        "of this request (same `Idempotency-Key`) answers `<redacted>` here.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class WebhookTestResult(OutputModel):
    event_id: str = Field(examples=["evt_4f1c2b8e9a0d4c7f8e6b5a4d3c2b1a09"])
    delivery_id: uuid.UUID


class WebhookAttemptRead(OutputModel):
    id: uuid.UUID
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_body: str | None = Field(description="The first 2 KB of the response body.")


class WebhookDeliveryRead(OutputModel):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: str = Field(description="Sent as `webhook-id`; the same on every retry.")
    event_type: str
    status: DeliveryStatus
    attempt_count: int = Field(description="Attempts in the current run of the schedule.")
    next_attempt_at: datetime | None
    last_status_code: int | None
    created_at: datetime
    updated_at: datetime


class WebhookDeliveryDetail(WebhookDeliveryRead):
    attempts: list[WebhookAttemptRead]


class ReplayRequest(InputModel):
    since: UtcDatetime = Field(description="Deliveries created at or after this time.")
    status: Literal["failed", "all"] = Field(
        default="failed",
        description="`failed`: only failed deliveries; `all`: every finished delivery.",
    )


class ReplayResult(OutputModel):
    count: int = Field(description="Deliveries queued again.")
