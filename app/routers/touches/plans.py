"""Touch plans: the steps every enrolled contact goes through."""

from __future__ import annotations

import uuid

from fastapi import Query, Response, status

from app.deps import ClockDep, IfMatchDep, PageDep, ReadAuth, SessionDep, WriteAuth
from app.models.platform import Page
from app.models.touches.plan_schemas import (
    TouchPlanCreate,
    TouchPlanRead,
    TouchPlanUpdate,
    plan_read,
)
from app.problems import CONFLICT, NOT_FOUND, PRECONDITION
from app.routers.platform import CREATED_AT, api_router, set_etag
from app.services.touches import plans as touch_plans

router = api_router("touch-plans")


@router.get("/touch-plans", operation_id="listTouchPlans", summary="List touch plans")
async def list_touch_plans(
    auth: ReadAuth,
    session: SessionDep,
    page: PageDep,
    active: bool | None = Query(default=None, description="Only active or only inactive."),
) -> Page[TouchPlanRead]:
    items, cursor = await touch_plans.list_plans(session, auth.workspace_id, page, active=active)
    data = [plan_read(p, s, touch_plans.lint(p, s)) for p, s in items]
    return Page[TouchPlanRead](data=data, next_cursor=cursor)


@router.post(
    "/touch-plans",
    operation_id="createTouchPlan",
    summary="Create a touch plan",
    status_code=status.HTTP_201_CREATED,
    responses=CREATED_AT,
)
async def create_touch_plan(
    body: TouchPlanCreate, auth: WriteAuth, session: SessionDep, clock: ClockDep, response: Response
) -> TouchPlanRead:
    """Create a plan. A template error is a 422 naming the step field, at save time; a
    variable some contacts lack, printed unguarded, is a warning in the answer."""
    plan, steps = await touch_plans.create_plan(session, auth.workspace_id, body, at=clock.now())
    set_etag(response, plan.version)
    response.headers["Location"] = f"/v1/touch-plans/{plan.id}"
    return plan_read(plan, steps, touch_plans.lint(plan, steps))


@router.get(
    "/touch-plans/{plan_id}",
    operation_id="getTouchPlan",
    summary="Get a touch plan",
    responses=NOT_FOUND,
)
async def get_touch_plan(
    plan_id: uuid.UUID, auth: ReadAuth, session: SessionDep, response: Response
) -> TouchPlanRead:
    plan = await touch_plans.get_plan(session, auth.workspace_id, plan_id)
    steps = await touch_plans.steps_of(session, auth.workspace_id, [plan.id])
    set_etag(response, plan.version)
    return plan_read(plan, steps[plan.id], touch_plans.lint(plan, steps[plan.id]))


@router.patch(
    "/touch-plans/{plan_id}",
    operation_id="updateTouchPlan",
    summary="Change a touch plan",
    responses={**NOT_FOUND, **PRECONDITION},
)
async def update_touch_plan(
    plan_id: uuid.UUID,
    body: TouchPlanUpdate,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    expected: IfMatchDep,
    response: Response,
) -> TouchPlanRead:
    """Edit a plan. New steps apply to touches not yet due; due and sent ones keep theirs."""
    plan, steps = await touch_plans.update_plan(
        session, auth.workspace_id, plan_id, body, expected_version=expected, at=clock.now()
    )
    set_etag(response, plan.version)
    return plan_read(plan, steps, touch_plans.lint(plan, steps))


@router.delete(
    "/touch-plans/{plan_id}",
    operation_id="deleteTouchPlan",
    summary="Delete a touch plan",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
)
async def delete_touch_plan(
    plan_id: uuid.UUID, auth: WriteAuth, session: SessionDep, clock: ClockDep, expected: IfMatchDep
) -> Response:
    """Delete a plan and its enrolments; touches already due or sent stay in the history.
    A plan that is an experiment's arm cannot be deleted (409)."""
    await touch_plans.delete_plan(
        session, auth.workspace_id, plan_id, expected_version=expected, at=clock.now()
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
