"""Referrals: recording them, reading and filtering them, correcting their details.

Creating a received referral does everything the firm owes the referrer in one
transaction: the stage history starts, ``referral.created`` is recorded, the reward
rules for ``received`` fire, and a thank-you touch is scheduled. Stage changes live in
``stages``; what the referrer is told lives in ``notices``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, NotFound, ValidationFailed
from app.models.contacts import Contact, ContactCreate
from app.models.platform import Member
from app.models.referrals.schemas import (
    NewContact,
    ReferralCreate,
    ReferralUpdate,
    ReferralWarning,
)
from app.models.referrals.tables import PIPELINE, Referral, ReferralStageHistory
from app.services import contacts, platform
from app.services.platform import (
    PageRequest,
    check_version,
    get_workspace,
    keyset_page,
    record_event,
    refuse_future,
)
from app.services.referrals import corrections
from app.services.referrals.corrections import correct_received_at
from app.services.referrals.experiments.assignment import program_for_referrer
from app.services.referrals.notices import referral_payload, schedule_thank_you
from app.services.referrals.rewards.rules import apply_rules

DUPLICATE_WINDOW = timedelta(days=90)


@dataclass
class ReferralFilters:
    direction: str | None = None
    stage: str | None = None
    source_contact_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    received_after: datetime | None = None
    received_before: datetime | None = None


@dataclass
class Created:
    referral: Referral
    warnings: list[ReferralWarning] = field(default_factory=list)


# A referral is seen through any of its contacts, or by the member who owns it.
_CONTACT_COLUMNS = ("source_contact_id", "referred_contact_id", "partner_contact_id")
platform.guard_path_parameter(
    "referral_id",
    platform.row_check(Referral.__table__, _CONTACT_COLUMNS, "owner_id"),
    "referral",
)


async def _require_contact(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, field_name: str
) -> None:
    stmt = select(col(Contact.id)).where(
        col(Contact.workspace_id) == workspace_id, col(Contact.id) == contact_id
    )
    stmt = platform.where_visible(stmt, Contact.__table__, ["id"])  # another agent's: none
    if (await session.execute(stmt)).first() is None:
        raise ValidationFailed.on(["body", field_name], "no such contact in this workspace")


async def _require_member(
    session: AsyncSession, workspace_id: uuid.UUID, member_id: uuid.UUID, field_name: str
) -> None:
    stmt = select(col(Member.id)).where(
        col(Member.workspace_id) == workspace_id, col(Member.id) == member_id
    )
    if (await session.execute(stmt)).first() is None:
        raise ValidationFailed.on(["body", field_name], "no such member in this workspace")


async def _create_prospect(
    session: AsyncSession, workspace_id: uuid.UUID, person: NewContact, *, at: datetime
) -> uuid.UUID:
    """The referred person as a new ``prospect``, through the contacts service so they get
    the same normalisation, ``contact.created`` event and plan auto-enrolment as anyone."""
    fields: dict[str, Any] = {"first_name": person.first_name, "last_name": person.last_name}
    if person.email:
        fields["emails"] = [{"address": person.email, "primary": True}]
    if person.phone:
        fields["phones"] = [{"number": person.phone, "primary": True}]
    try:
        data = ContactCreate.model_validate({**fields, "segment": "prospect"})
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = {"emails": "email", "phones": "phone"}.get(str(first["loc"][0]), "first_name")
        raise ValidationFailed.on(["body", "referred_contact", where], first["msg"]) from exc
    return (await contacts.create_contact(session, workspace_id, data, at=at)).id


async def _referred_contact_id(
    session: AsyncSession, workspace_id: uuid.UUID, data: ReferralCreate, *, at: datetime
) -> tuple[uuid.UUID, list[ReferralWarning]]:
    if data.referred_contact_id is not None:
        await _require_contact(
            session, workspace_id, data.referred_contact_id, "referred_contact_id"
        )
        return data.referred_contact_id, []
    person = data.referred_contact
    assert person is not None  # the schema requires one of the two
    if person.email:
        # The same person referred twice must not become two prospects.
        stmt = select(col(Contact.id)).where(
            col(Contact.workspace_id) == workspace_id,
            func.lower(col(Contact.primary_email)) == person.email.lower(),
        )
        existing = (await session.execute(stmt.limit(1))).scalar_one_or_none()
        if existing is not None:
            note = ReferralWarning(
                code="linked_existing_contact",
                message=f"{person.email} is already a contact; the referral links to them",
                referral_ids=[],
            )
            return existing, [note]
    return await _create_prospect(session, workspace_id, person, at=at), []


async def _earlier_duplicates(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    data: ReferralCreate,
    referred_id: uuid.UUID,
    received_at: datetime,
) -> list[uuid.UUID]:
    """Referrals of the same person by the same source (or to the same partner) within 90 days.

    An advisory lock on the pair serialises two simultaneous submissions of the same
    referral, so the second one always sees the first.
    """
    counterpart = (
        col(Referral.source_contact_id)
        if data.direction == "received"
        else col(Referral.partner_contact_id)
    )
    counterpart_id = data.source_contact_id or data.partner_contact_id
    key = f"referral-dup:{workspace_id}:{data.direction}:{counterpart_id}:{referred_id}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
    stmt = select(col(Referral.id)).where(
        col(Referral.workspace_id) == workspace_id,
        col(Referral.direction) == data.direction,
        counterpart == counterpart_id,
        col(Referral.referred_contact_id) == referred_id,
        col(Referral.received_at) > received_at - DUPLICATE_WINDOW,
        col(Referral.received_at) < received_at + DUPLICATE_WINDOW,
    )
    return list((await session.execute(stmt)).scalars())


async def create_referral(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    data: ReferralCreate,
    *,
    strict: bool = False,
    at: datetime,
) -> Created:
    workspace = await get_workspace(session, workspace_id)
    for name in ("source_contact_id", "partner_contact_id"):
        contact_id = getattr(data, name)
        if contact_id is not None:
            await _require_contact(session, workspace_id, contact_id, name)
    if data.owner_id is not None:
        await _require_member(session, workspace_id, data.owner_id, "owner_id")
    referred_id, warnings = await _referred_contact_id(session, workspace_id, data, at=at)
    if referred_id in (data.source_contact_id, data.partner_contact_id):
        where = "referred_contact_id" if data.referred_contact_id else "referred_contact"
        raise ValidationFailed.on(["body", where], "a contact cannot refer themselves")
    received_at = data.received_at or at
    refuse_future(received_at, at, ["body", "received_at"], "a referral's received_at")
    duplicates = await _earlier_duplicates(session, workspace_id, data, referred_id, received_at)
    if duplicates and strict:
        raise Conflict(
            "this person was referred by the same source within 90 days",
            extra={"duplicate_of": [str(d) for d in duplicates]},
        )
    if duplicates:
        warnings.append(
            ReferralWarning(
                code="possible_duplicate",
                message="the same person was referred by the same source within 90 days",
                referral_ids=duplicates,
            )
        )
    received = data.direction == "received"
    program_id = None
    if received and data.source_contact_id is not None:
        program_id = await program_for_referrer(
            session, workspace_id, data.source_contact_id, received_at=received_at, at=at
        )
    values = data.model_dump(exclude={"referred_contact", "referred_contact_id", "received_at"})
    referral = Referral(
        workspace_id=workspace_id,
        **values,
        referred_contact_id=referred_id,
        stage="received",
        received_at=received_at,
        stage_changed_at=received_at,
        follow_up_due_at=received_at + timedelta(hours=workspace.referral_follow_up_hours)
        if received
        else None,
        possible_duplicate=bool(duplicates),
        reward_program_id=program_id,
        version=1,
        created_at=at,
        updated_at=at,
    )
    session.add(referral)
    await session.flush()
    session.add(
        ReferralStageHistory(
            workspace_id=workspace_id,
            referral_id=referral.id,
            from_stage=None,
            to_stage="received",
            at=received_at,
            actor=platform.current_actor().as_json(),
            created_at=at,
        )
    )
    await session.flush()
    payload = await referral_payload(session, referral)
    await record_event(session, workspace_id, "referral.created", payload, at=at)
    if received:
        await apply_rules(session, referral, ["received"], at=at)
        await schedule_thank_you(session, workspace, referral, at=at)
    return Created(referral, warnings)


async def get_referral(
    session: AsyncSession, workspace_id: uuid.UUID, referral_id: uuid.UUID, *, lock: bool = False
) -> Referral:
    stmt = select(Referral).where(
        col(Referral.workspace_id) == workspace_id, col(Referral.id) == referral_id
    )
    if lock:
        stmt = stmt.with_for_update()
    referral = (await session.execute(stmt)).scalar_one_or_none()
    if referral is None:
        raise NotFound("referral not found")
    return referral


async def list_referrals(
    session: AsyncSession, workspace_id: uuid.UUID, page: PageRequest, filters: ReferralFilters
) -> tuple[list[Referral], str | None]:
    """Newest first by received time, so a pipeline view starts with what just came in."""
    stmt = select(Referral).where(col(Referral.workspace_id) == workspace_id)
    stmt = platform.where_visible(stmt, Referral.__table__, _CONTACT_COLUMNS, "owner_id")
    if filters.direction is not None:
        stmt = stmt.where(col(Referral.direction) == filters.direction)
    if filters.stage is not None:
        stmt = stmt.where(col(Referral.stage) == filters.stage)
    if filters.source_contact_id is not None:
        stmt = stmt.where(col(Referral.source_contact_id) == filters.source_contact_id)
    if filters.owner_id is not None:
        stmt = stmt.where(col(Referral.owner_id) == filters.owner_id)
    if filters.received_after is not None:
        stmt = stmt.where(col(Referral.received_at) >= filters.received_after)
    if filters.received_before is not None:
        stmt = stmt.where(col(Referral.received_at) < filters.received_before)
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(Referral.received_at), col(Referral.id)],
        page=page,
        sort="referrals",
        descending=True,
    )
    return [r[0] for r in rows], cursor


async def update_referral(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    referral_id: uuid.UUID,
    changes: ReferralUpdate,
    *,
    expected_version: int | None,
    at: datetime,
) -> Referral:
    """Correct descriptive fields; ``null`` clears a value (except the currency and the
    received time, which ``corrections`` moves with what follows from it)."""
    referral = await get_referral(session, workspace_id, referral_id, lock=True)
    check_version(referral.version, expected_version)
    values = changes.model_dump(exclude_unset=True)
    for name in ("currency", "received_at"):
        if name in values and values[name] is None:
            raise ValidationFailed.on(["body", name], f"{name} cannot be cleared")
    if "received_at" in values:
        await correct_received_at(session, referral, values.pop("received_at"), at=at)
    if values.get("owner_id") is not None:
        await _require_member(session, workspace_id, values["owner_id"], "owner_id")
    for name, value in values.items():
        setattr(referral, name, value)
    referral.version += 1
    referral.updated_at = at
    await session.flush()
    if values.get("actual_value") is not None and referral.stage in PIPELINE:
        # A deal value recorded after its milestone lets the deal-based rules that could not
        # be computed then fire now; a rule that already fired never fires again.
        reached = PIPELINE[: PIPELINE.index(referral.stage) + 1]
        await apply_rules(session, referral, reached, at=at, deal_based_only=True)
    return referral


async def delete_referral(
    session: AsyncSession, workspace_id: uuid.UUID, referral_id: uuid.UUID, *, at: datetime
) -> None:
    """Delete a referral recorded by mistake (``corrections.delete_referral``)."""
    referral = await get_referral(session, workspace_id, referral_id, lock=True)
    await corrections.delete_referral(session, referral, at=at)
