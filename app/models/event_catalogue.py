"""The event catalogue: every event type Rapport emits, with an example payload.

Kept as data so one list drives three things that must agree: validation of webhook
endpoint filters (an unknown type is a typo the integrator would never be told about
otherwise), the OpenAPI ``webhooks`` section and the integrator documentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CONTACT_ID = "5a3f0c1e-8d2b-4c6a-9f1e-2b7d4e6a8c10"
REFERRAL_ID = "c81d4e2f-3b5a-4f7c-8e9d-1a2b3c4d5e6f"
TOUCH_ID = "0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b"
ENDPOINT_ID = "7f1e2d3c-4b5a-4968-8776-655443322110"
DELIVERY_ID = "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9"

#: Types the webhook machinery emits about itself. They are never fanned out to
#: endpoints (a failing endpoint would otherwise be told about its own failures in a
#: loop), except ``webhook.test``, which goes only to the endpoint it tests.
WEBHOOK_TEST = "webhook.test"
WEBHOOK_DELIVERY_FAILED = "webhook.delivery_failed"
WEBHOOK_ENDPOINT_DISABLED = "webhook.endpoint_disabled"


@dataclass(frozen=True)
class EventType:
    name: str
    summary: str
    example: dict[str, Any] = field(default_factory=dict)
    delivered: bool = True  # False: only readable through GET /v1/events


def _touch(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": TOUCH_ID,
        "contact_id": CONTACT_ID,
        "channel": "email",
        "content_kind": "market_report",
        "mode": "automated",
        "due_at": "2026-12-01T15:00:00+00:00",
        "status": status,
        "plan_id": "4e5f6a7b-8c9d-4e0f-9a2b-3c4d5e6f7a8b",
        "enrollment_id": "3d4e5f6a-7b8c-4d9e-8f1a-2b3c4d5e6f7a",
        "provider_message_id": None,
        **extra,
    }


def _contact(**extra: Any) -> dict[str, Any]:
    return {
        "id": CONTACT_ID,
        "first_name": "Jordan",
        "last_name": "Lee",
        "segment": "client",
        "primary_email": "jordan@example.com",
        **extra,
    }


def _referral(stage: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": REFERRAL_ID,
        "direction": "received",
        "source_contact_id": CONTACT_ID,
        "stage": stage,
        "expected_value": "12000.00",
        **extra,
    }


CATALOGUE: tuple[EventType, ...] = (
    EventType("touch.due", "A planned touch reached its send time.", _touch("due")),
    EventType(
        "touch.completed",
        "A touch was sent or done.",
        _touch("completed", completed_at="2026-12-01T15:02:11+00:00"),
    ),
    EventType(
        "touch.skipped",
        "A touch was skipped (no consent, do-not-contact, window missed).",
        _touch("skipped", reason="no_consent"),
    ),
    EventType(
        "touch.failed",
        "An outside sender reported a touch as failed.",
        _touch("failed", reason="mailbox_full"),
    ),
    EventType("contact.created", "A contact was created.", _contact()),
    EventType("contact.updated", "A contact changed.", _contact(changed=["segment"])),
    EventType("contact.deleted", "A contact was deleted.", {"id": CONTACT_ID}),
    EventType(
        "contact.merged",
        "Two contacts were merged; the loser's id now points at the survivor.",
        {"id": CONTACT_ID, "merged_id": "9d8e7f6a-5b4c-4d3e-8f2a-1b0c9d8e7f6a"},
    ),
    EventType(
        "contact.lapsed",
        "A contact had no engagement for longer than the lapse threshold.",
        _contact(last_engaged_at="2026-08-20T10:00:00Z", lapse_threshold_days=90),
    ),
    EventType(
        "contact.stage_changed",
        "A contact's advocacy stage changed.",
        {"id": CONTACT_ID, "from_stage": "engaged", "to_stage": "advocate"},
    ),
    EventType("referral.created", "A referral was received or given.", _referral("received")),
    EventType(
        "referral.stage_changed",
        "A referral moved through its stages.",
        _referral("meeting", from_stage="contacted"),
    ),
    EventType(
        "referral.follow_up_overdue",
        "A received referral was not contacted within the follow-up target.",
        _referral("received", follow_up_due_at="2026-11-24T12:00:00Z"),
    ),
    EventType(
        "reward.created",
        "A reward program rule created a reward.",
        {
            "id": "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
            "referral_id": REFERRAL_ID,
            "contact_id": CONTACT_ID,
            "amount": "50.00",
            "status": "pending",
        },
    ),
    EventType(
        "reward.issued",
        "A reward was issued to the referrer.",
        {
            "id": "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
            "contact_id": CONTACT_ID,
            "amount": "50.00",
            "status": "issued",
        },
    ),
    EventType(
        "enrollment.completed",
        "A contact finished a touch plan.",
        {
            "id": "3d4e5f6a-7b8c-4d9e-8f1a-2b3c4d5e6f7a",
            "contact_id": CONTACT_ID,
            "plan_id": "4e5f6a7b-8c9d-4e0f-9a2b-3c4d5e6f7a8b",
        },
    ),
    EventType(
        WEBHOOK_TEST,
        "Sent on request (POST /v1/webhook-endpoints/{id}/test) to that endpoint only.",
        {"endpoint_id": ENDPOINT_ID, "message": "This is a test event from Rapport."},
    ),
    EventType(
        WEBHOOK_DELIVERY_FAILED,
        "A delivery exhausted its retry schedule.",
        {
            "delivery_id": DELIVERY_ID,
            "endpoint_id": ENDPOINT_ID,
            "event_id": "evt_4f1c2b8e9a0d4c7f8e6b5a4d3c2b1a09",
            "event_type": "touch.due",
            "attempts": 8,
            "last_status_code": 503,
            "last_error": None,
        },
        delivered=False,
    ),
    EventType(
        WEBHOOK_ENDPOINT_DISABLED,
        "An endpoint was disabled (410 Gone, or failing for days).",
        {
            "endpoint_id": ENDPOINT_ID,
            "url": "https://crm.example.com/hooks/rapport",
            "reason": "no successful delivery for 5 days",
        },
        delivered=False,
    ),
)

EVENT_TYPES: frozenset[str] = frozenset(t.name for t in CATALOGUE)
BY_NAME: dict[str, EventType] = {t.name: t for t in CATALOGUE}


def filter_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a usable endpoint filter, or None when it is.

    A filter is an exact type or a prefix ``"touch.*"``; a prefix must cover at least
    one known type, so ``"tuch.*"`` is refused rather than matching nothing forever.
    """
    if pattern.endswith(".*"):
        prefix = pattern[:-1]
        if "*" in prefix or not any(name.startswith(prefix) for name in EVENT_TYPES):
            return f"{pattern!r} matches no known event type"
        return None
    if pattern not in EVENT_TYPES:
        return f"unknown event type {pattern!r}"
    return None
