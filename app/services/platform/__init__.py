"""Platform: the ground every domain stands on. Workspaces and their settings, members,
API keys and who a request speaks for, the event outbox (recorded with each change, fanned
out to webhook deliveries, read back as the feed), idempotency, keyset pagination,
optimistic versions, PostgreSQL-built JSON, readiness, and the scheduler's runner.

Public face: the names below. Platform imports no other domain.
"""

from app.services.platform.api_keys import create_api_key
from app.services.platform.audit import (
    audit_params,
    audited_with,
    changes_between,
    list_audit,
    purge_audit_log,
    record_change,
    scrub_resources,
)
from app.services.platform.auth import CredentialResolver, credential_resolver
from app.services.platform.events import (
    public_event_id,
    record_event,
    record_events,
    record_params,
    record_serialised_events,
    recorded_with,
)
from app.services.platform.fanout import fan_out
from app.services.platform.health import Readiness
from app.services.platform.idempotency import purge_idempotency_keys
from app.services.platform.json_sql import json_object
from app.services.platform.members import create_member
from app.services.platform.origins import OriginRegistry
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
from app.services.platform.principals import (
    EVERYTHING,
    ROLE_SCOPES,
    SYSTEM,
    Actor,
    AuthContext,
    Viewer,
    act_as,
    acting_as,
    current_actor,
    current_viewer,
    request_principal,
    viewer_for,
)
from app.services.platform.rate_limits import Decision, RateLimiter
from app.services.platform.scheduler import Job, Scheduler, in_batches, run_jobs
from app.services.platform.sessions import session_tokens
from app.services.platform.ssrf import (
    CheckedTarget,
    Resolver,
    UnsafeUrl,
    check_url,
    is_public_address,
    system_resolver,
)
from app.services.platform.tokens import digest
from app.services.platform.versioning import check_version
from app.services.platform.visibility import (
    any_contact_visible,
    contact_row_sql,
    contact_visible,
    guard_path,
    guard_path_parameter,
    owner_or_shared,
    referral_visible_sql,
    require_visible_contacts,
    require_whole_team,
    restricted,
    row_check,
    text_binds,
    viewer_binds,
    visible_sql,
    where_visible,
)
from app.services.platform.workspaces import create_workspace, get_workspace

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_LIMIT",
    "EVERYTHING",
    "MAX_LIMIT",
    "ROLE_SCOPES",
    "SYSTEM",
    "Actor",
    "AuthContext",
    "CheckedTarget",
    "CredentialResolver",
    "Decision",
    "Job",
    "OriginRegistry",
    "PageRequest",
    "RateLimiter",
    "Readiness",
    "Resolver",
    "Scheduler",
    "SortKey",
    "UnsafeUrl",
    "Viewer",
    "act_as",
    "acting_as",
    "any_contact_visible",
    "audit_params",
    "audited_with",
    "changes_between",
    "check_url",
    "check_version",
    "contact_row_sql",
    "contact_visible",
    "create_api_key",
    "create_member",
    "create_workspace",
    "credential_resolver",
    "current_actor",
    "current_viewer",
    "cut_page",
    "decode_cursor",
    "digest",
    "encode_cursor",
    "fan_out",
    "get_workspace",
    "guard_path",
    "guard_path_parameter",
    "in_batches",
    "is_public_address",
    "json_object",
    "keyset_page",
    "keyset_statement",
    "list_audit",
    "owner_or_shared",
    "page_binds",
    "public_event_id",
    "purge_audit_log",
    "purge_idempotency_keys",
    "record_change",
    "record_event",
    "record_events",
    "record_params",
    "record_serialised_events",
    "recorded_with",
    "referral_visible_sql",
    "refuse_future",
    "refuse_future_date",
    "request_principal",
    "require_visible_contacts",
    "require_whole_team",
    "restricted",
    "row_check",
    "run_jobs",
    "scrub_resources",
    "session_tokens",
    "system_resolver",
    "text_binds",
    "viewer_binds",
    "viewer_for",
    "visible_sql",
    "where_visible",
]
