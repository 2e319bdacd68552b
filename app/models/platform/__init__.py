"""Platform tables and shared schema plumbing: workspaces, members, API keys, the event
outbox and its catalogue, stored idempotent responses; the table base (naming
convention, tenant keys), money types and the input/output base models every domain uses.
"""

from app.models.platform.api_key import ApiKey
from app.models.platform.audit import Actor, AuditEntry, AuditEntryRead
from app.models.platform.base import (
    TIMESTAMPTZ,
    IdMixin,
    TableModel,
    TenantMixin,
    column,
    created_at_column,
    generated,
    tenant_fk,
    timestamp,
    workspace_fk,
)
from app.models.platform.common import (
    SECRET,
    AwareTime,
    EmailAddress,
    InputModel,
    IsoDate,
    OutputModel,
    Page,
    Problem,
    UtcDatetime,
    omit_null,
    require_tag,
    utc_text,
)
from app.models.platform.event import CONTACT_REFS, Event
from app.models.platform.event_catalogue import (
    CATALOGUE,
    WEBHOOK_DELIVERY_FAILED,
    WEBHOOK_ENDPOINT_DISABLED,
    WEBHOOK_TEST,
    EventType,
    filter_problem,
)
from app.models.platform.idempotency import IdempotencyRecord
from app.models.platform.member import ROLES, Member, MemberAssist, MemberCreate
from app.models.platform.money import (
    Amount,
    CurrencyCode,
    Money,
    Percent,
    Share,
    currency_column,
    money_column,
)
from app.models.platform.origins import parse_origins
from app.models.platform.rate_limit import RateLimitBucket
from app.models.platform.workspace import LocalTime, TimeZoneName, Workspace

__all__ = [
    "CATALOGUE",
    "CONTACT_REFS",
    "ROLES",
    "SECRET",
    "TIMESTAMPTZ",
    "WEBHOOK_DELIVERY_FAILED",
    "WEBHOOK_ENDPOINT_DISABLED",
    "WEBHOOK_TEST",
    "Actor",
    "Amount",
    "ApiKey",
    "AuditEntry",
    "AuditEntryRead",
    "AwareTime",
    "CurrencyCode",
    "EmailAddress",
    "Event",
    "EventType",
    "IdMixin",
    "IdempotencyRecord",
    "InputModel",
    "IsoDate",
    "LocalTime",
    "Member",
    "MemberAssist",
    "MemberCreate",
    "Money",
    "OutputModel",
    "Page",
    "Percent",
    "Problem",
    "RateLimitBucket",
    "Share",
    "TableModel",
    "TenantMixin",
    "TimeZoneName",
    "UtcDatetime",
    "Workspace",
    "column",
    "created_at_column",
    "currency_column",
    "filter_problem",
    "generated",
    "money_column",
    "omit_null",
    "parse_origins",
    "require_tag",
    "tenant_fk",
    "timestamp",
    "utc_text",
    "workspace_fk",
]
