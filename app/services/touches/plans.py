"""Touch plans: create, read, edit (re-planning touches not yet due), delete, seed.

Templates are checked here, at save time, so a broken template is the editor's 422 and
never a failed send months later; one that works but prints a variable some contacts
lack is saved with a warning (``lint``). Whether a template names the member is
recorded (``needs_sender``): such a plan is enrolled only for contacts someone signs
for. Editing steps re-plans only touches that are still ``scheduled`` and not yet due;
due and sent touches keep the text they were rendered with.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.models.platform import Member
from app.models.touches.plan_schemas import (
    StepIn,
    TemplateWarning,
    TouchPlanCreate,
    TouchPlanUpdate,
)
from app.models.touches.tables import TouchPlan, TouchPlanStep
from app.services.platform import PageRequest, check_version, keyset_page
from app.services.touches import replan
from app.services.touches.lint import plan_warnings
from app.services.touches.render import check_step_templates, needs_member, template_problem


async def _check(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    steps: Sequence[StepIn] | None,
    reminder: str | None,
) -> None:
    """Every template and every named member, all problems reported at once."""
    errors: list[FieldError] = []
    if reminder is not None and (problem := template_problem(reminder)) is not None:
        errors.append(FieldError(["body", "referral_reminder"], problem, "template_error"))
    for i, step in enumerate(steps or ()):
        loc: list[str | int] = ["body", "steps", i]
        errors.extend(check_step_templates(loc, step.subject_template, step.body_template))
    named = {s.assignee_id for s in steps or () if s.assignee_id is not None}
    if named:
        stmt = select(col(Member.id)).where(
            col(Member.workspace_id) == workspace_id, col(Member.id).in_(named)
        )
        found = set((await session.execute(stmt)).scalars())
        for i, step in enumerate(steps or ()):
            if step.assignee_id is not None and step.assignee_id not in found:
                errors.append(FieldError(["body", "steps", i, "assignee_id"], "no such member"))
    if errors:
        raise ValidationFailed(
            detail="; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors),
            errors=errors,
        )


def _step_values(step: StepIn, position: int) -> dict[str, Any]:
    return {
        "position": position,
        "channel": step.channel,
        "content_kind": step.content_kind,
        "mode": step.mode,
        "assignee_id": step.assignee_id,
        "subject_template": step.subject_template,
        "body_template": step.body_template,
        "timing": step.timing.model_dump(mode="json"),
        "send_time": step.send_time,
        "valid_for_days": step.valid_for_days,
    }


def _needs_sender(plan: TouchPlan, steps: Sequence[StepIn] | Sequence[TouchPlanStep]) -> bool:
    sources: list[str | None] = [plan.referral_reminder]
    for step in steps:
        sources += [step.subject_template, step.body_template]
    return any(s is not None and needs_member(s) for s in sources)


def lint(plan: TouchPlan, steps: Sequence[TouchPlanStep]) -> list[TemplateWarning]:
    """The plan's template warnings (variables printed unguarded that contacts may lack)."""
    ordered = sorted(steps, key=lambda s: s.position)
    templates = [(s.subject_template, s.body_template) for s in ordered]
    return plan_warnings(plan.referral_reminder, templates)


async def create_plan(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    data: TouchPlanCreate,
    *,
    at: datetime,
    builtin_key: str | None = None,
) -> tuple[TouchPlan, list[TouchPlanStep]]:
    await _check(session, workspace_id, data.steps, data.referral_reminder)
    plan = TouchPlan(
        workspace_id=workspace_id,
        name=data.name,
        description=data.description,
        audience_segments=list(data.audience.segments),
        audience_tags=list(data.audience.tags),
        referral_reminder=data.referral_reminder,
        repeat_yearly=data.repeat_yearly,
        pause_on_reply=data.pause_on_reply,
        active=data.active,
        builtin_key=builtin_key,
        version=1,
        created_at=at,
        updated_at=at,
    )
    plan.needs_sender = _needs_sender(plan, data.steps)
    session.add(plan)
    await session.flush()
    steps = [
        TouchPlanStep(
            workspace_id=workspace_id,
            plan_id=plan.id,
            created_at=at,
            updated_at=at,
            **_step_values(s, i),
        )
        for i, s in enumerate(data.steps)
    ]
    session.add_all(steps)
    await session.flush()
    return plan, steps


async def get_plan(
    session: AsyncSession, workspace_id: uuid.UUID, plan_id: uuid.UUID, *, lock: bool = False
) -> TouchPlan:
    stmt = select(TouchPlan).where(
        col(TouchPlan.workspace_id) == workspace_id, col(TouchPlan.id) == plan_id
    )
    if lock:
        stmt = stmt.with_for_update()
    plan = (await session.execute(stmt)).scalar_one_or_none()
    if plan is None:
        raise NotFound("touch plan not found")
    return plan


async def steps_of(
    session: AsyncSession, workspace_id: uuid.UUID, plan_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[TouchPlanStep]]:
    stmt = (
        select(TouchPlanStep)
        .where(
            col(TouchPlanStep.workspace_id) == workspace_id,
            col(TouchPlanStep.plan_id).in_(plan_ids),
        )
        .order_by(col(TouchPlanStep.plan_id), col(TouchPlanStep.position))
    )
    found: dict[uuid.UUID, list[TouchPlanStep]] = {pid: [] for pid in plan_ids}
    for step in (await session.execute(stmt)).scalars():
        found[step.plan_id].append(step)
    return found


async def list_plans(
    session: AsyncSession, workspace_id: uuid.UUID, page: PageRequest, *, active: bool | None
) -> tuple[list[tuple[TouchPlan, list[TouchPlanStep]]], str | None]:
    stmt = select(TouchPlan).where(col(TouchPlan.workspace_id) == workspace_id)
    if active is not None:
        stmt = stmt.where(col(TouchPlan.active) == active)
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(TouchPlan.created_at), col(TouchPlan.id)],
        page=page,
        sort="touch_plans",
    )
    plans = [r[0] for r in rows]
    steps = await steps_of(session, workspace_id, [p.id for p in plans])
    return [(p, steps[p.id]) for p in plans], cursor


async def _replace_steps(
    session: AsyncSession, plan: TouchPlan, new: Sequence[StepIn], *, at: datetime
) -> None:
    current = {s.id: s for s in (await steps_of(session, plan.workspace_id, [plan.id]))[plan.id]}
    for i, step in enumerate(new):
        if step.id is not None and step.id not in current:
            raise ValidationFailed.on(["body", "steps", i, "id"], "not a step of this plan")
    kept = {s.id for s in new if s.id is not None}
    gone = [sid for sid in current if sid not in kept]
    if gone:
        await session.execute(
            delete(TouchPlanStep).where(
                col(TouchPlanStep.workspace_id) == plan.workspace_id,
                col(TouchPlanStep.id).in_(gone),
            )
        )
    for i, step in enumerate(new):
        if step.id is not None:
            row = current[step.id]
            for field, value in _step_values(step, i).items():
                setattr(row, field, value)
            row.updated_at = at
        else:
            session.add(
                TouchPlanStep(
                    workspace_id=plan.workspace_id,
                    plan_id=plan.id,
                    created_at=at,
                    updated_at=at,
                    **_step_values(step, i),
                )
            )
    await session.flush()


async def update_plan(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    plan_id: uuid.UUID,
    changes: TouchPlanUpdate,
    *,
    expected_version: int | None,
    at: datetime,
) -> tuple[TouchPlan, list[TouchPlanStep]]:
    plan = await get_plan(session, workspace_id, plan_id, lock=True)
    check_version(plan.version, expected_version)
    values = changes.model_dump(exclude_unset=True)
    await _check(session, workspace_id, changes.steps, values.get("referral_reminder"))
    for field in ("name", "referral_reminder", "repeat_yearly", "pause_on_reply", "active"):
        if values.get(field) is not None:
            setattr(plan, field, values[field])
    if "description" in values:
        plan.description = values["description"]
    if changes.audience is not None:
        plan.audience_segments = list(changes.audience.segments)
        plan.audience_tags = list(changes.audience.tags)
    replans = changes.steps is not None or "repeat_yearly" in values
    dropped = None
    if replans:
        # Touches not yet due are planned again from the new steps; drop them first so a
        # removed step's touches go with it (the step's foreign key would only null them).
        dropped = await replan.forget_future(session, workspace_id, plan_id, at=at)
    if changes.steps is not None:
        await _replace_steps(session, plan, changes.steps, at=at)
    steps = (await steps_of(session, workspace_id, [plan.id]))[plan.id]
    plan.needs_sender = _needs_sender(plan, steps)
    plan.version += 1
    plan.updated_at = at
    await session.flush()
    if replans:
        await replan.replan(session, workspace_id, plan_id, at=at, dropped=dropped)
    return plan, steps


async def delete_plan(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    plan_id: uuid.UUID,
    *,
    expected_version: int | None,
    at: datetime,
) -> None:
    """Delete a plan with its enrolments; touches not yet due go too, history stays.

    A plan an experiment compares cannot go (409): its results would lose an arm. The
    experiment's arm holds it through a ``RESTRICT`` foreign key, read here as the
    refusal it is rather than looked up in a table of the referrals domain.
    """
    plan = await get_plan(session, workspace_id, plan_id, lock=True)
    check_version(plan.version, expected_version)
    dropped = await replan.forget_future(session, workspace_id, plan_id, at=None)
    await replan.withdraw_unplanned(session, dropped, "plan_deleted", at=at)
    try:
        async with session.begin_nested():
            await session.execute(
                delete(TouchPlan).where(
                    col(TouchPlan.workspace_id) == workspace_id, col(TouchPlan.id) == plan_id
                )
            )
    except IntegrityError as exc:
        raise Conflict("the plan is an arm of an experiment; it cannot be deleted") from exc
