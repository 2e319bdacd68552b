"""The audit log (admin): who changed what, and when."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from app.deps import AdminAuth, PageDep, SessionDep
from app.models.platform.audit import AuditEntryRead
from app.models.platform.common import AwareTime, Page
from app.routers.platform.common import api_router
from app.services.platform import list_audit

router = api_router("audit-log")


@router.get("/audit-log", operation_id="listAuditLog", summary="List the audit log")
async def list_audit_log(
    auth: AdminAuth,
    session: SessionDep,
    page: PageDep,
    actor_id: Annotated[
        uuid.UUID | None, Query(description="Changes made by this member or API key.")
    ] = None,
    resource_type: Annotated[
        str | None,
        Query(max_length=32, description="e.g. `contact`, `referral`, `member`, `api_key`."),
    ] = None,
    resource_id: Annotated[
        str | None, Query(max_length=64, description="The changed record's id.")
    ] = None,
    since: Annotated[
        AwareTime | None, Query(description="Changes at or after this time (RFC 3339).")
    ] = None,
    until: Annotated[
        AwareTime | None, Query(description="Changes before this time (RFC 3339).")
    ] = None,
) -> Page[AuditEntryRead]:
    """Every change, newest first: the member, API key or system job that made it, the
    record, and each changed field's value before and after (secret values never appear;
    an erased contact's values are removed, the rows stay). Kept
    `RAPPORT_AUDIT_RETENTION_DAYS` days."""
    entries, cursor = await list_audit(
        session,
        auth.workspace_id,
        page,
        actor_id=actor_id,
        resource_type=resource_type,
        resource_id=resource_id,
        since=since,
        until=until,
    )
    return Page(data=entries, next_cursor=cursor)
