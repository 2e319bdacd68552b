"""Endpoint health: remember failures and successes, disable endpoints that are gone.

An endpoint is disabled when it answers 410 Gone (the receiver says so) or when it has
not had a single successful delivery for ``webhook_disable_after_days`` since it began
failing. Disabling cancels what is queued for it and is told through an event, so the
integrator learns about it from the feed; after fixing their side they re-enable the
endpoint and replay.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.platform import WEBHOOK_DELIVERY_FAILED, WEBHOOK_ENDPOINT_DISABLED
from app.models.webhooks.events import DeliveryFailedData, EndpointDisabledData
from app.services.platform import public_event_id, record_events
from app.services.webhooks.bookkeeping import Result
from app.services.webhooks.deliveries import cancel_open_deliveries

Pair = tuple[uuid.UUID, uuid.UUID]
GONE_REASON = "the endpoint answered 410 Gone"

_PAIRS = "unnest(CAST(:ws AS uuid[]), CAST(:ids AS uuid[])) AS p(workspace_id, id)"
_FAILING = text(
    f"""
    UPDATE webhook_endpoints AS w SET first_failure_at = COALESCE(w.first_failure_at, :now)
    FROM {_PAIRS} WHERE w.workspace_id = p.workspace_id AND w.id = p.id
    """
)
_HEALTHY = text(
    f"""
    UPDATE webhook_endpoints AS w SET first_failure_at = NULL, last_success_at = :now
    FROM {_PAIRS} WHERE w.workspace_id = p.workspace_id AND w.id = p.id
    """
)
_DISABLE = text(
    """
    UPDATE webhook_endpoints AS w
    SET enabled = false, disabled_reason = p.reason, version = w.version + 1, updated_at = :now
    FROM unnest(CAST(:ws AS uuid[]), CAST(:ids AS uuid[]), CAST(:reasons AS text[]),
                CAST(:forced AS boolean[])) AS p(workspace_id, id, reason, forced)
    WHERE w.workspace_id = p.workspace_id AND w.id = p.id AND w.enabled
      AND (p.forced OR w.first_failure_at <= :cutoff)
    RETURNING w.workspace_id, w.id, w.url, w.disabled_reason
    """
)


def _params(pairs: set[Pair]) -> dict[str, Any]:
    ordered = sorted(pairs)
    return {"ws": [p[0] for p in ordered], "ids": [p[1] for p in ordered]}


async def apply(
    session: AsyncSession, results: list[Result], *, now: datetime, disable_after_days: float
) -> None:
    """Update endpoint health from this round's results (only those still ours)."""
    ok: set[Pair] = set()
    failing: set[Pair] = set()
    gone: set[Pair] = set()
    for r in results:
        key = (r.delivery.workspace_id, r.delivery.endpoint_id)
        if r.status == "succeeded":
            ok.add(key)
        elif r.tried:
            failing.add(key)
            if r.status_code == 410:
                gone.add(key)
    failing -= ok
    if failing:
        await session.execute(_FAILING, {"now": now, **_params(failing)})
    if ok:
        await session.execute(_HEALTHY, {"now": now, **_params(ok)})
    disabled: list[Any] = []
    if failing:
        days = f"{disable_after_days:g}"
        candidates = sorted(failing)
        rows = await session.execute(
            _DISABLE,
            {
                "now": now,
                "cutoff": now - timedelta(days=disable_after_days),
                "ws": [p[0] for p in candidates],
                "ids": [p[1] for p in candidates],
                "reasons": [
                    GONE_REASON if p in gone else f"no successful delivery for {days} days"
                    for p in candidates
                ],
                "forced": [p in gone for p in candidates],
            },
        )
        disabled = list(rows)
    await cancel_open_deliveries(session, [(d.workspace_id, d.id) for d in disabled], at=now)
    await _record(session, results, disabled, now=now)


async def _record(
    session: AsyncSession, results: list[Result], disabled: list[Any], *, now: datetime
) -> None:
    by_workspace: dict[uuid.UUID, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for d in disabled:
        by_workspace[d.workspace_id].append(
            (
                WEBHOOK_ENDPOINT_DISABLED,
                EndpointDisabledData(
                    endpoint_id=d.id, url=d.url, reason=d.disabled_reason
                ).model_dump(mode="json"),
            )
        )
    for r in results:
        if r.status != "failed":
            continue
        c = r.delivery
        by_workspace[c.workspace_id].append(
            (
                WEBHOOK_DELIVERY_FAILED,
                DeliveryFailedData(
                    delivery_id=c.id,
                    endpoint_id=c.endpoint_id,
                    event_id=public_event_id(c.event_uid),
                    event_type=c.event_type,
                    attempts=c.attempt_count + 1,
                    last_status_code=r.status_code,
                    last_error=r.error,
                ).model_dump(mode="json"),
            )
        )
    for workspace_id, items in by_workspace.items():
        await record_events(session, workspace_id, items, at=now)
