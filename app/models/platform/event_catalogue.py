"""The event catalogue: every event type Rapport emits, with an example payload.

Kept as data so one list drives three things that must agree: validation of webhook
endpoint filters (an unknown type is a typo the integrator would never be told about
otherwise), the OpenAPI ``webhooks`` section and the integrator documentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# One story runs through the examples (Jordan Lee, a past client, referred Casey Moss), so
# the ids an integrator sees in one event are the ones the others refer to.
CONTACT_ID = "5a3f0c1e-8d2b-4c6a-9f1e-2b7d4e6a8c10"
REFERRED_ID = "6b4e1d2f-9e3c-4d7b-8a2f-3c8e5f7b9d21"
MERGED_ID = "9d8e7f6a-5b4c-4d3e-8f2a-1b0c9d8e7f6a"
MEMBER_ID = "8c7b6a59-4d3e-4f21-9e0d-1c2b3a4f5e6d"
REFERRAL_ID = "c81d4e2f-3b5a-4f7c-8e9d-1a2b3c4d5e6f"
REWARD_ID = "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
PROGRAM_ID = "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d"
TOUCH_ID = "0e9d8c7b-6a5f-4e3d-8c1b-0a9f8e7d6c5b"
TASK_ID = "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"
PLAN_ID = "4e5f6a7b-8c9d-4e0f-9a2b-3c4d5e6f7a8b"
STEP_ID = "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a"
ENROLLMENT_ID = "3d4e5f6a-7b8c-4d9e-8f1a-2b3c4d5e6f7a"
ENDPOINT_ID = "7f1e2d3c-4b5a-4968-8776-655443322110"
DELIVERY_ID = "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9"
REMINDER = "Know someone thinking of moving? Dana Whitfield will gladly call them."

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


# The examples have exactly the keys and JSON types of the real payloads:
# tests/test_event_contract.py records every type through the API and compares them.


ADDRESS = {
    "line1": "12 Elm St",
    "line2": None,
    "city": "Springfield",
    "region": "IL",
    "postal_code": "62704",
    "country": "US",
}


def _touch_to_send(status: str, **extra: Any) -> dict[str, Any]:
    """``touch.due`` and ``touch.skipped``: everything a sender needs, no call back.

    ``recipient`` depends on the channel: ``{"email"}`` (email, event_invite),
    ``{"phone"}`` in E.164 (sms, call, meeting) or ``{"address"}`` (mail, card, gift).
    ``member``, ``plan`` and ``step`` are null for an ad-hoc touch without an assignee.
    """
    return {
        "id": TOUCH_ID,
        "idempotency_key": TOUCH_ID,
        "status": status,
        "channel": "email",
        "mode": "automated",
        "content_kind": "market_report",
        "due_at": "2026-12-01T15:00:00Z",
        "expires_at": "2026-12-04T15:00:00Z",
        "subject": "Your December market report, Jordan",
        "body": f"Hi Jordan, homes on Elm St sold 4% above asking this quarter. {REMINDER}",
        "referral_reminder": REMINDER,
        "recipient": {"email": "jordan@example.com"},
        "contact_id": CONTACT_ID,
        "contact": {
            "id": CONTACT_ID,
            "name": "Jordan Lee",
            "first_name": "Jordan",
            "last_name": "Lee",
            "locale": "en-US",
            "time_zone": "America/Chicago",
        },
        "member": {"id": MEMBER_ID, "name": "Dana Whitfield", "email": "dana@example.com"},
        "plan": {"id": PLAN_ID, "name": "Market updates"},
        "step": {"id": STEP_ID, "position": 0},
        "enrollment_id": ENROLLMENT_ID,
        **extra,
    }


def _task(status: str, **extra: Any) -> dict[str, Any]:
    """``task.assigned`` and ``task.due``: a manual step for a member, with the contact's
    card. ``subject``, ``body`` and ``referral_reminder`` are rendered when it falls due
    (null in ``task.assigned``); ``assignee`` is null when nobody is assigned."""
    return {
        "id": TASK_ID,
        "idempotency_key": TASK_ID,
        "status": status,
        "channel": "call",
        "mode": "manual",
        "content_kind": "personal_call",
        "due_at": "2026-12-08T15:00:00Z",
        "expires_at": "2026-12-11T15:00:00Z",
        "subject": "Call Jordan Lee",
        "body": "Check in with Jordan: any questions about the market report?",
        "referral_reminder": REMINDER,
        "assignee": {"id": MEMBER_ID, "name": "Dana Whitfield", "email": "dana@example.com"},
        "contact_id": CONTACT_ID,
        "contact": {
            "id": CONTACT_ID,
            "name": "Jordan Lee",
            "first_name": "Jordan",
            "last_name": "Lee",
            "company_name": None,
            "company": "Lee & Partners",
            "job_title": "Architect",
            "primary_email": "jordan@example.com",
            "primary_phone": "+13125550123",
            "address": ADDRESS,
            "locale": "en-US",
            "time_zone": "America/Chicago",
        },
        "plan": {"id": PLAN_ID, "name": "33 Touch"},
        "step": {"id": STEP_ID, "position": 10},
        "enrollment_id": ENROLLMENT_ID,
        **extra,
    }


def _touch_outcome(status: str, **extra: Any) -> dict[str, Any]:
    """``touch.sent``, ``touch.completed`` and ``touch.failed``: the touch and when that
    happened (``sent_at``, ``completed_at`` or ``failed_at``)."""
    return {
        "id": TOUCH_ID,
        "contact_id": CONTACT_ID,
        "channel": "email",
        "content_kind": "market_report",
        "mode": "automated",
        "due_at": "2026-12-01T15:00:00Z",
        "status": status,
        "plan_id": PLAN_ID,
        "enrollment_id": ENROLLMENT_ID,
        "provider_message_id": "esp-0f3a9c",
        **extra,
    }


def _contact(**extra: Any) -> dict[str, Any]:
    """The contact as ``GET /v1/contacts/{id}`` shows it."""
    return {
        "id": CONTACT_ID,
        "kind": "person",
        "display_name": "Jordan Lee",
        "first_name": "Jordan",
        "last_name": "Lee",
        "company_name": None,
        "company": "Lee & Partners",
        "job_title": "Architect",
        "emails": [{"address": "jordan@example.com", "type": "home", "primary": True}],
        "phones": [{"number": "+13125550123", "type": "mobile", "primary": True}],
        "primary_email": "jordan@example.com",
        "primary_phone": "+13125550123",
        "address": ADDRESS,
        "time_zone": "America/Chicago",
        "locale": "en-US",
        "owner_id": MEMBER_ID,
        "segment": "client",
        "allied_category": None,
        "advocacy_stage": "engaged",
        "advocacy_stage_manual": False,
        "family": [{"name": "Sam", "relation": "child", "birthday": "2015-04-02"}],
        "interests": ["golf"],
        "tags": ["2024-buyer"],
        "custom_fields": {"lead_source": "open house"},
        "consent": {
            "email": {"status": "granted", "at": "2025-06-14T16:20:00Z", "source": "closing"},
            "sms": None,
            "call": None,
            "mail": None,
        },
        "do_not_contact": False,
        "external_ids": {"hubspot": "51"},
        "last_engaged_at": "2026-10-02T18:30:00Z",
        "lapsed_at": None,
        "version": 4,
        "created_at": "2025-06-14T16:20:00Z",
        "updated_at": "2026-11-23T12:00:00Z",
        **extra,
    }


def _referral(stage: str, **extra: Any) -> dict[str, Any]:
    """The referral as the API shows it, plus the referrer and a message to send them.

    ``referrer`` and ``suggested_message`` are null for a ``given`` referral.
    """
    return {
        "id": REFERRAL_ID,
        "direction": "received",
        "source_contact_id": CONTACT_ID,
        "referred_contact_id": REFERRED_ID,
        "partner_contact_id": None,
        "service": "home purchase",
        "currency": "USD",
        "expected_value": "12000.00",
        "actual_value": None,
        "fee": None,
        "owner_id": MEMBER_ID,
        "notes": "Relocating from Denver in the spring.",
        "stage": stage,
        "lost_reason": None,
        "received_at": "2026-11-23T12:00:00Z",
        "stage_changed_at": "2026-11-23T12:00:00Z",
        "follow_up_due_at": "2026-11-24T12:00:00Z",
        "follow_up_notified_at": None,
        "possible_duplicate": False,
        "reward_program_id": PROGRAM_ID,
        "version": 1,
        "created_at": "2026-11-23T12:00:00Z",
        "updated_at": "2026-11-23T12:00:00Z",
        "referrer": {
            "id": CONTACT_ID,
            "first_name": "Jordan",
            "last_name": "Lee",
            "company_name": None,
            "primary_email": "jordan@example.com",
            "primary_phone": "+13125550123",
        },
        "suggested_message": (
            "Hi Jordan, thank you for referring Casey! I will be in touch with them shortly."
        ),
        **extra,
    }


def _reward(status: str, **extra: Any) -> dict[str, Any]:
    """The reward as ``GET /v1/rewards/{id}`` shows it; ``contact_id`` is the referrer."""
    return {
        "id": REWARD_ID,
        "referral_id": REFERRAL_ID,
        "referrer_id": CONTACT_ID,
        "contact_id": CONTACT_ID,
        "program_id": PROGRAM_ID,
        "rule_index": 0,
        "trigger": "received",
        "amount": "50.00",
        "currency": "USD",
        "kind": "gift_card",
        "status": status,
        "available_at": "2026-11-23T12:00:00Z",
        "approved_at": "2026-11-23T12:00:00Z",
        "approved_by": {"type": "system", "id": None, "name": "system"},
        "issued_at": None,
        "issued_by": None,
        "cancelled_at": None,
        "cancelled_by": None,
        "cancel_reason": None,
        "version": 1,
        "created_at": "2026-11-23T12:00:00Z",
        "updated_at": "2026-11-23T12:00:00Z",
        **extra,
    }


CATALOGUE: tuple[EventType, ...] = (
    EventType(
        "touch.due",
        "An automated touch is released to its sender, with everything the sender needs: "
        "rendered subject and body, referral reminder, the recipient for the channel, the "
        "contact, the member who signs it, plan and step. `due_at` is the moment of "
        "release, always inside the contact's send window; do not send it after "
        "`expires_at`. Use `idempotency_key` (the touch id) to send it once. Manual steps "
        "never come as `touch.due`: they are tasks (`task.assigned`, `task.due`).",
        _touch_to_send("due"),
    ),
    EventType(
        "touch.sent",
        "The sender reported a touch as sent (`sent_at`).",
        _touch_outcome("sent", sent_at="2026-12-01T15:00:40Z"),
    ),
    EventType(
        "touch.completed",
        "A touch was delivered (reported by its sender) or a task was done by its member "
        "(`completed_at`).",
        _touch_outcome("completed", completed_at="2026-12-01T15:02:11Z"),
    ),
    EventType(
        "touch.skipped",
        "A touch or task will not go out, with its `reason`: `no_consent` for the channel, "
        "`do_not_contact`, `no_sender` (a template names the member and nobody signs for "
        "the contact) or `stale` (not released within its validity: the scheduler was "
        "stopped, or the next send window opened too late). A plan touch is not rendered "
        "then: `subject`, `body` and `referral_reminder` are null.",
        _touch_to_send(
            "skipped",
            channel="sms",
            subject=None,
            body=None,
            referral_reminder=None,
            recipient={"phone": "+13125550123"},
            step={"id": STEP_ID, "position": 2},
            reason="no_consent",
        ),
    ),
    EventType(
        "touch.failed",
        "An outside sender reported a touch as failed (`failed_at`, `reason`).",
        _touch_outcome("failed", reason="mailbox full", failed_at="2026-12-01T15:02:11Z"),
    ),
    EventType(
        "task.assigned",
        "A task (a manual step, or an ad-hoc manual touch) was planned for a member: put it "
        "on their list. Its instructions are rendered when it falls due (`task.due`).",
        _task(
            "scheduled",
            due_at="2026-12-08T15:00:00Z",
            subject=None,
            body=None,
            referral_reminder=None,
        ),
    ),
    EventType(
        "task.due",
        "A task fell due: the member's instructions (`subject`, `body`, the referral "
        "reminder to pass on) and the contact's card. Report it done with "
        "`POST /v1/touches/{id}/outcome` (`completed`).",
        _task("due"),
    ),
    EventType(
        "task.cancelled",
        "A task announced with `task.assigned` will not fall due: take it off the member's "
        "list. `reason`: `do_not_contact`, `no_consent`, `no_sender`, `stale`, "
        "`enrollment_paused`, `enrollment_cancelled`, `reply` (the contact answered and the "
        "plan pauses on reply), `replanned` (the plan or the contact changed and the step "
        "no longer falls then) or `plan_deleted`. A paused plan that resumes assigns new "
        "tasks.",
        {
            "id": TASK_ID,
            "reason": "enrollment_paused",
            "channel": "call",
            "mode": "manual",
            "content_kind": "personal_call",
            "due_at": "2026-12-08T15:00:00Z",
            "assignee_id": MEMBER_ID,
            "contact_id": CONTACT_ID,
            "plan_id": PLAN_ID,
            "step_id": STEP_ID,
            "enrollment_id": ENROLLMENT_ID,
        },
    ),
    EventType("contact.created", "A contact was created.", _contact(version=1)),
    EventType(
        "contact.updated",
        "A contact changed; `changed_fields` names what changed.",
        _contact(job_title="Partner", changed_fields=["job_title"]),
    ),
    EventType(
        "contact.deleted",
        "A contact was erased: its id only, and its earlier events keep only "
        '`{"id", "erased": true}`.',
        {"id": CONTACT_ID},
    ),
    EventType(
        "contact.merged",
        "Two contacts were merged; the loser's id now points at the survivor.",
        {"id": CONTACT_ID, "merged_id": MERGED_ID},
    ),
    EventType(
        "contact.lapsed",
        "A contact had no engagement for longer than the lapse threshold.",
        {
            "id": CONTACT_ID,
            "first_name": "Jordan",
            "last_name": "Lee",
            "company_name": None,
            "segment": "client",
            "primary_email": "jordan@example.com",
            "last_engaged_at": "2026-08-20T10:00:00Z",
            "lapse_threshold_days": 90,
        },
    ),
    EventType(
        "agenda.ready",
        "A member's agenda for the day, sent once each morning at 07:00 in the member's "
        "time zone (else the workspace's): the top 10 items by value (`total_items` counts "
        "them all), each as `GET /v1/members/{id}/agenda` shows it, for a daily digest "
        "e-mail.",
        {
            "member": {"id": MEMBER_ID, "name": "Dana Whitfield", "email": "dana@example.com"},
            "date": "2026-12-07",
            "time_zone": "America/Chicago",
            "currency": "USD",
            "total_items": 1,
            "items": [
                {
                    "key": f"reconnect:{CONTACT_ID}:2026-08-20",
                    "kind": "reconnect",
                    "contact": {
                        "id": CONTACT_ID,
                        "name": "Jordan Lee",
                        "segment": "core_advocate",
                        "advocacy_stage": "core_advocate",
                    },
                    "reason": "Core advocate Jordan Lee: 109 days since the last engagement, "
                    "lapsed 19 d ago (threshold 90 d); reconnecting protects USD 3,000.00 = "
                    "2.00 referrals/yr x USD 6,000.00 each (their referrals) x 25% touch lift",
                    "due_at": "2026-11-18T10:00:00Z",
                    "value": "3000.00",
                    "record_id": CONTACT_ID,
                    "actions": [
                        {
                            "name": "record_contact",
                            "method": "POST",
                            "path": f"/v1/contacts/{CONTACT_ID}/interactions",
                            "body": {
                                "channel": "<call|email|sms|meeting...>",
                                "direction": "outbound",
                                "occurred_at": "<when>",
                                "summary": "<what was said>",
                            },
                        },
                        {
                            "name": "snooze",
                            "method": "POST",
                            "path": f"/v1/members/{MEMBER_ID}/agenda/snoozes",
                            "body": {
                                "key": f"reconnect:{CONTACT_ID}:2026-08-20",
                                "until": "<YYYY-MM-DD>",
                            },
                        },
                    ],
                }
            ],
        },
    ),
    EventType(
        "contact.stage_changed",
        "A contact's advocacy stage changed (`source`: `suggested` by the rules, or `manual`).",
        {"id": CONTACT_ID, "from_stage": "engaged", "to_stage": "advocate", "source": "suggested"},
    ),
    EventType("referral.created", "A referral was received or given.", _referral("received")),
    EventType(
        "referral.stage_changed",
        "A referral moved through its stages, with the referrer's contact data and a "
        "suggested message to keep them informed.",
        _referral(
            "contacted",
            from_stage="received",
            to_stage="contacted",
            note="Called Casey; meeting on Friday.",
            cancelled_reward_ids=[],
            stage_changed_at="2026-11-24T09:30:00Z",
            version=2,
            updated_at="2026-11-24T09:30:00Z",
            suggested_message=(
                "Hi Jordan, a quick update: I have reached out to Casey and will keep you posted."
            ),
        ),
    ),
    EventType(
        "referral.deleted",
        "A referral recorded by mistake was deleted (its id only), with its stage history "
        "and the rewards not yet issued; a thank-you still waiting was cancelled.",
        {"id": REFERRAL_ID},
    ),
    EventType(
        "referral.follow_up_overdue",
        "A received referral was not contacted within the follow-up target.",
        _referral(
            "received", follow_up_notified_at="2026-11-24T13:00:00Z", hours_since_received=25.0
        ),
    ),
    EventType("reward.created", "A reward program rule created a reward.", _reward("approved")),
    EventType(
        "reward.issued",
        "A reward was issued to the referrer.",
        _reward(
            "issued",
            issued_at="2026-11-30T10:00:00Z",
            issued_by={"type": "member", "id": MEMBER_ID, "name": "Dana Whitfield"},
            version=2,
            updated_at="2026-11-30T10:00:00Z",
        ),
    ),
    EventType(
        "enrollment.completed",
        "A contact finished a touch plan: its last touch is settled. `touches` counts how "
        "they ended; `unconfirmed` ones were released but never reported within the "
        "workspace's `outcome_grace_days`.",
        {
            "id": ENROLLMENT_ID,
            "contact_id": CONTACT_ID,
            "plan_id": PLAN_ID,
            "completed_at": "2027-01-26T12:00:00Z",
            "touches": {
                "completed": 6,
                "sent": 0,
                "skipped": 1,
                "failed": 0,
                "cancelled": 0,
                "unconfirmed": 1,
            },
        },
    ),
    EventType(
        WEBHOOK_TEST,
        "Sent on request (POST /v1/webhook-endpoints/{id}/test) to that endpoint only.",
        {"endpoint_id": ENDPOINT_ID, "message": "This is a test event from Rapport."},
    ),
    EventType(
        WEBHOOK_DELIVERY_FAILED,
        "A delivery exhausted its retry schedule (or the endpoint answered 410 Gone).",
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
