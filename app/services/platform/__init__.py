"""Platform: the ground every domain stands on. Workspaces and their settings, members,
API keys and who a request speaks for, the event outbox (recorded with each change, fanned
out to webhook deliveries, read back as the feed), idempotency, keyset pagination,
optimistic versions, PostgreSQL-built JSON, and the scheduler's runner.

Public face: the names below. Platform imports no other domain.
"""

from app.services.platform.api_keys import create_api_key
from app.services.platform.auth import AuthContext, KeyResolver
from app.services.platform.events import (
    RECORD_PARAMS,
    public_event_id,
    record_event,
    record_events,
    record_serialised_events,
    recorded_with,
)
from app.services.platform.fanout import fan_out
from app.services.platform.idempotency import purge_idempotency_keys
from app.services.platform.json_sql import json_object
from app.services.platform.members import create_member
from app.services.platform.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    PageRequest,
    SortKey,
    cut_page,
    decode_cursor,
    encode_cursor,
    keyset_page,
    keyset_statement,
    page_binds,
)
from app.services.platform.past import CLOCK_SKEW, refuse_future, refuse_future_date
from app.services.platform.scheduler import Job, Scheduler, in_batches, run_jobs
from app.services.platform.tokens import digest
from app.services.platform.versioning import check_version
from app.services.platform.workspaces import create_workspace, get_workspace

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "RECORD_PARAMS",
    "AuthContext",
    "Job",
    "KeyResolver",
    "PageRequest",
    "Scheduler",
    "SortKey",
    "check_version",
    "create_api_key",
    "create_member",
    "create_workspace",
    "cut_page",
    "decode_cursor",
    "digest",
    "encode_cursor",
    "fan_out",
    "get_workspace",
    "in_batches",
    "json_object",
    "keyset_page",
    "keyset_statement",
    "page_binds",
    "public_event_id",
    "purge_idempotency_keys",
    "record_event",
    "record_events",
    "record_serialised_events",
    "recorded_with",
    "refuse_future",
    "refuse_future_date",
    "run_jobs",
]
