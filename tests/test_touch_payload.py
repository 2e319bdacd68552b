"""The ``touch.due`` event is the whole contract with an outside sender: everything it needs
to send (and to deduplicate) without calling back, on every channel. A manual step is a
task, announced to the member as ``task.due`` with its instructions and the contact's card,
never as ``touch.due``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.db import Database
from app.models.touches.plan_schemas import TouchPlanCreate
from app.models.touches.tables import Touch, TouchPlanStep
from app.services.touches import enrollments
from app.services.touches.emit import emit_due_touches
from app.services.touches.plans import create_plan
from app.services.touches.render import shared_only
from tests.conftest import T0, Tenant
from tests.test_touch_emit import events_of
from tests.touch_fixtures import add_contact, add_member

ADDRESS = {"line1": "12 Rue King", "city": "Toronto", "region": "ON", "postal_code": "M5H 1A1"}
REMINDER = (
    "Know someone moving? Tell {{ member.name }}: {{ contact.first_name }}, we'll look after them."
)


def _step(channel: str, mode: str = "automated") -> dict[str, Any]:
    return {
        "channel": channel,
        "content_kind": "newsletter" if mode == "automated" else "call",
        "mode": mode,
        "subject_template": channel + " for {{ contact.first_name }} ({{ contact.locale }})",
        "body_template": channel + ": hello {{ contact.name }}. {{ referral_reminder }}",
        "timing": {"kind": "after_enrollment", "days": 0},
    }


CHANNELS = ("email", "sms", "mail", "card", "call")
SENT = ("email", "sms", "mail", "card")  # automated; the call is a task
RELEASED = T0 + timedelta(hours=3)  # 15:00 UTC, 10:00 in Toronto: inside the window


async def _enrolled(db: Database, tenant: Tenant, **contact: Any) -> dict[str, Any]:
    """A contact enrolled yesterday, catching up, in a plan with one step per channel, all
    due yesterday and released at ``RELEASED``."""
    body = TouchPlanCreate.model_validate(
        {
            "name": "Every channel",
            "referral_reminder": REMINDER,
            "steps": [_step(c, "manual" if c == "call" else "automated") for c in CHANNELS],
        }
    )
    async with db.transaction() as session:
        member = await add_member(session, tenant.id, at=T0, name="Dana")
        plan, steps = await create_plan(session, tenant.id, body, at=T0)
        row = await add_contact(
            session,
            tenant.id,
            at=T0,
            first_name="Ana",
            last_name="Silva",
            email="ana@example.com",
            phone="+14165550123",
            owner_id=member.id,
            **contact,
        )
        enrollment = await enrollments.enroll_contact(
            session,
            tenant.id,
            plan_id=plan.id,
            contact_id=row.id,
            start=T0.date() - timedelta(days=1),
            at=T0,
            catch_up=True,
        )
        assert await emit_due_touches(session, at=RELEASED) == len(CHANNELS)
    return {
        "member": member,
        "plan": plan,
        "steps": {s.channel: s for s in steps},
        "contact_id": row.id,
        "enrollment_id": enrollment.id,
    }


async def _touch(db: Database, tenant: Tenant, step: TouchPlanStep) -> Touch:
    async with db.transaction() as session:
        stmt = select(Touch).where(Touch.workspace_id == tenant.id, Touch.step_id == step.id)
        return (await session.execute(stmt)).scalar_one()


async def test_touch_due_carries_everything_a_sender_needs_on_every_channel(
    db: Database, tenant: Tenant
) -> None:
    setup = await _enrolled(
        db, tenant, locale="fr-CA", time_zone="America/Toronto", address=ADDRESS
    )
    member, plan = setup["member"], setup["plan"]
    events = {e["channel"]: e for e in await events_of(db, tenant.id, "touch.due")}
    assert sorted(events) == sorted(SENT)
    reminder = "Know someone moving? Tell Dana: Ana, we'll look after them."
    recipients = {
        "email": {"email": "ana@example.com"},
        "sms": {"phone": "+14165550123"},
        "mail": {"address": ADDRESS},
        "card": {"address": ADDRESS},
    }
    for channel in SENT:
        step = setup["steps"][channel]
        touch = await _touch(db, tenant, step)
        tid = str(touch.id)
        assert touch.expires_at is not None
        assert events[channel] == {
            "id": tid,
            "idempotency_key": tid,
            "status": "due",
            "channel": channel,
            "mode": "automated",
            "content_kind": "newsletter",
            "due_at": RELEASED.isoformat().replace("+00:00", "Z"),
            "expires_at": touch.expires_at.isoformat().replace("+00:00", "Z"),
            "subject": f"{channel} for Ana (fr-CA)",
            "body": f"{channel}: hello Ana Silva. {reminder}",
            "referral_reminder": reminder,
            "recipient": recipients[channel],
            "contact_id": str(setup["contact_id"]),
            "contact": {
                "id": str(setup["contact_id"]),
                "name": "Ana Silva",
                "first_name": "Ana",
                "last_name": "Silva",
                "locale": "fr-CA",
                "time_zone": "America/Toronto",
            },
            "member": {"id": str(member.id), "name": "Dana", "email": member.email},
            "plan": {"id": str(plan.id), "name": "Every channel"},
            "step": {"id": str(step.id), "position": step.position},
            "enrollment_id": str(setup["enrollment_id"]),
        }, channel
        # What was announced is what is stored: a sender's later outcome refers to it.
        assert (touch.subject, touch.body, touch.referral_reminder) == (
            events[channel]["subject"],
            events[channel]["body"],
            reminder,
        )
        # Planned for 9:00 in Toronto yesterday; valid three days from then.
        assert touch.expires_at.isoformat() == "2026-11-25T14:00:00+00:00"
    assert [setup["steps"][c].position for c in CHANNELS] == [0, 1, 2, 3, 4]


async def test_a_manual_step_reaches_the_member_as_a_task_with_the_contact_card(
    db: Database, tenant: Tenant
) -> None:
    setup = await _enrolled(
        db, tenant, locale="fr-CA", time_zone="America/Toronto", address=ADDRESS
    )
    step = setup["steps"]["call"]
    touch = await _touch(db, tenant, step)
    assert touch.expires_at is not None
    member, cid = setup["member"], str(setup["contact_id"])
    reminder = "Know someone moving? Tell Dana: Ana, we'll look after them."
    (assigned,) = await events_of(db, tenant.id, "task.assigned")
    (task,) = await events_of(db, tenant.id, "task.due")
    assert task == {
        "id": str(touch.id),
        "idempotency_key": str(touch.id),
        "status": "due",
        "channel": "call",
        "mode": "manual",
        "content_kind": "call",
        "due_at": RELEASED.isoformat().replace("+00:00", "Z"),
        "expires_at": touch.expires_at.isoformat().replace("+00:00", "Z"),
        "subject": "call for Ana (fr-CA)",
        "body": f"call: hello Ana Silva. {reminder}",
        "referral_reminder": reminder,
        "assignee": {"id": str(member.id), "name": "Dana", "email": member.email},
        "contact_id": cid,
        "contact": {
            "id": cid,
            "name": "Ana Silva",
            "first_name": "Ana",
            "last_name": "Silva",
            "company_name": None,
            "company": None,
            "job_title": None,
            "primary_email": "ana@example.com",
            "primary_phone": "+14165550123",
            "address": {"line2": None, "country": None, **ADDRESS},  # every key, as reads show
            "locale": "fr-CA",
            "time_zone": "America/Toronto",
        },
        "plan": {"id": str(setup["plan"].id), "name": "Every channel"},
        "step": {"id": str(step.id), "position": 4},
        "enrollment_id": str(setup["enrollment_id"]),
    }
    # Announced when planned (as planned: 9:00 in Toronto), before it was rendered.
    assert assigned == {
        **task,
        "status": "scheduled",
        "due_at": "2026-11-22T14:00:00Z",
        "subject": None,
        "body": None,
        "referral_reminder": None,
    }


async def test_without_a_contact_zone_the_payload_carries_the_workspace_zone(
    db: Database, tenant: Tenant
) -> None:
    await _enrolled(db, tenant)
    events = await events_of(db, tenant.id, "touch.due") + await events_of(
        db, tenant.id, "task.due"
    )
    assert {e["contact"]["time_zone"] for e in events} == {"UTC"}  # the workspace default
    assert {e["contact"]["locale"] for e in events} == {None}
    by_channel = {e["channel"]: e for e in events}
    assert by_channel["mail"]["recipient"] == {"address": None}  # no address on file


async def test_texts_shared_by_a_batch_are_rendered_per_contact_where_they_differ(
    db: Database, tenant: Tenant
) -> None:
    """One claim renders a member-only reminder once for all its touches; whatever reads
    the contact is still rendered for each contact."""
    body = TouchPlanCreate.model_validate(
        {
            "name": "Hello",
            "referral_reminder": "Call {{ member.name }} with a name.",
            "steps": [
                {
                    "channel": "email",
                    "content_kind": "newsletter",
                    "mode": "automated",
                    "subject_template": "News from {{ member.name }}",
                    "body_template": "Hi {{ contact.first_name }}. {{ referral_reminder }}",
                    "timing": {"kind": "after_enrollment", "days": 0},
                }
            ],
        }
    )
    names = ["Ana", "Ben", "Cy"]
    async with db.transaction() as session:
        dana = await add_member(session, tenant.id, at=T0, name="Dana")
        eli = await add_member(session, tenant.id, at=T0, name="Eli")
        plan, _ = await create_plan(session, tenant.id, body, at=T0)
        for i, name in enumerate(names):
            owner = dana if i < 2 else eli
            row = await add_contact(
                session, tenant.id, at=T0, first_name=name, owner_id=owner.id, email=f"{i}@x.co"
            )
            await enrollments.enroll_contact(
                session, tenant.id, plan_id=plan.id, contact_id=row.id, start=T0.date(), at=T0
            )
        assert await emit_due_touches(session, at=T0 + timedelta(days=1)) == 3
    got = {
        e["contact"]["first_name"]: (e["subject"], e["body"], e["referral_reminder"])
        for e in await events_of(db, tenant.id, "touch.due")
    }
    assert got == {
        "Ana": ("News from Dana", "Hi Ana. Call Dana with a name.", "Call Dana with a name."),
        "Ben": ("News from Dana", "Hi Ben. Call Dana with a name.", "Call Dana with a name."),
        "Cy": ("News from Eli", "Hi Cy. Call Eli with a name.", "Call Eli with a name."),
    }


@pytest.mark.parametrize(
    ("source", "shared"),
    [
        ("Call {{ member.name }} at {{ workspace.name }}", True),
        ("{{ plan.name }}: {{ referral_reminder }}", True),
        ("{{ member.name|upper }} {{ plan.name }}", True),
        ("{% set who = member.name %}{{ who }}", False),  # conservative: any other name
        ("{{ [member.name, plan.name]|random }}", False),
        ("Hi {{ contact.first_name }}", False),
        ("{{ lipsum(1) }}", False),  # random text: never reuse it
        ("{{ range(3)|list }}", False),
        ("{{ member.name", False),
    ],
)
def test_only_templates_reading_shared_values_are_reused(source: str, shared: bool) -> None:
    assert shared_only(source) is shared
