"""Ad-hoc touches, the entry point other features use (a referral's thank-you)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from app.db import Database
from app.errors import NotFound
from app.services.touches.outreach import create_touch
from tests.conftest import T0, Tenant
from tests.touch_fixtures import add_contact


async def test_create_touch_schedules_a_one_off_touch(db: Database, tenant: Tenant) -> None:
    async with db.transaction() as session:
        contact = await add_contact(session, tenant.id, at=T0)
        touch = await create_touch(
            session,
            tenant.id,
            contact_id=contact.id,
            channel="card",
            mode="manual",
            content_kind="thank_you",
            subject="Thank you",
            body="Thank you for the referral!",
            due_at=T0 + timedelta(days=1),
            assignee_id=None,
            at=T0,
        )
    assert touch.status == "scheduled"
    assert touch.enrollment_id is None
    assert touch.plan_id is None


async def test_create_touch_refuses_another_workspaces_contact(
    db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    async with db.transaction() as session:
        contact = await add_contact(session, other_tenant.id, at=T0)
    with pytest.raises(NotFound):
        async with db.transaction() as session:
            await create_touch(
                session,
                tenant.id,
                contact_id=contact.id,
                channel="email",
                mode="automated",
                content_kind="note",
                subject=None,
                body="hi",
                due_at=T0,
                assignee_id=uuid.uuid4(),
                at=T0,
            )
