"""Plans' audiences: contacts enrolled automatically in every active plan whose segments or
tags they match, once per plan and contact, ever.

The same selection serves three callers: ``auto_enroll`` after a change to contacts, the
contact create's single statement (``auto_enroll_insert`` as a data-modifying CTE over
the row it inserts), and that statement's guard (``auto_enroll_pick``: would it enrol?).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Uuid,
    and_,
    any_,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause, Select

from app.models.contacts import Contact
from app.models.platform import Workspace
from app.models.touches.tables import Enrollment, TouchPlan
from app.services.touches import planning

SYNC_LIMIT = 1000  # enrolments planned inside the request; the top-up job plans the rest


def auto_enroll_pick(contacts: FromClause, *where: ColumnElement[bool]) -> Select[Any]:
    """The enrolments ``auto_enroll`` would make for the rows of ``contacts`` that pass
    ``where``: every active plan of their workspace whose audience they are in, never
    twice, and a plan whose templates name the member only if someone signs for the
    contact (its owner, or the workspace's default sender). The rows need
    ``workspace_id``, ``id``, ``segment``, ``tags``, ``do_not_contact`` and ``owner_id``;
    binds ``start``, ``horizon`` and ``at``.

    ``contacts`` is the contacts table, the rows a contact ``INSERT … RETURNING`` gives a
    statement that creates a contact and enrols it at once (``create_contact``: a
    data-modifying CTE; the table would not show the new row to the same statement), or
    the values of a contact about to be inserted (whether it would be enrolled at all).
    """
    c = contacts.c
    plans = TouchPlan.__table__
    plan = plans.c
    enrolled = Enrollment.__table__
    audience = (c.segment == any_(plan.audience_segments)) | c.tags.overlap(plan.audience_tags)
    already = exists().where(
        enrolled.c.workspace_id == c.workspace_id,
        enrolled.c.plan_id == plan.id,
        enrolled.c.contact_id == c.id,
    )
    workspaces = Workspace.__table__
    signed = or_(
        plan.needs_sender.is_(False),
        c.owner_id.is_not(None),
        exists().where(
            workspaces.c.id == c.workspace_id,
            workspaces.c.default_sender_member_id.is_not(None),
        ),
    )
    at = bindparam("at", type_=DateTime(timezone=True))
    cols: dict[str, Any] = {
        "workspace_id": c.workspace_id,
        "status": literal("active"),
        "start_date": bindparam("start", type_=Date),
        "materialized_until": bindparam("horizon", type_=Date),  # nothing planned yet
        "catch_up": literal(False),
        "version": literal(1),
        "created_at": at,
        "updated_at": at,
        "plan_id": plan.id,
        "source": literal("auto"),
        "id": func.gen_random_uuid(),
        "contact_id": c.id,
    }
    return (
        select(*[v.label(k) for k, v in cols.items()])
        .select_from(contacts)
        .join(plans, and_(plan.workspace_id == c.workspace_id, plan.active.is_(True)))
        .where(*where, c.do_not_contact.is_(False), audience, signed, ~already)
    )


def auto_enroll_insert(contacts: FromClause, *where: ColumnElement[bool]) -> Any:
    """``auto_enroll``'s ``INSERT … SELECT`` of ``auto_enroll_pick``.

    Built once by each caller: building it per call cost more CPU than the rest of
    ``POST /v1/contacts`` (py-spy).
    """
    pick = auto_enroll_pick(contacts, *where)
    enrolled = Enrollment.__table__
    # Core, on the table: the ORM would read the parameters as rows to bulk-insert.
    return (
        insert(enrolled)
        .from_select([c.name for c in pick.selected_columns], pick)
        .on_conflict_do_nothing()
        .returning(enrolled.c.id)
    )


def _auto_enroll_statement() -> Any:
    contacts = Contact.__table__
    return auto_enroll_insert(
        contacts,
        contacts.c.workspace_id == bindparam("workspace_id", type_=Uuid),
        contacts.c.id == any_(bindparam("contact_ids", type_=ARRAY(Uuid))),
    )


_AUTO_ENROLL = _auto_enroll_statement()


async def auto_enroll(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_ids: Sequence[uuid.UUID],
    at: datetime,
    *,
    plan_now: int = SYNC_LIMIT,
) -> int:
    """Enrol these contacts in every active plan whose audience they are now in.

    A contact is enrolled automatically in a plan once, ever: leaving and re-entering the
    audience, or finishing the plan, does not enrol them again (enrol by hand for that).
    The start date is today (UTC). Returns the number of enrolments created. Up to
    ``plan_now`` of them get their touches planned at once; the top-up job plans the rest
    (a bulk import passes 0, so a big file is not slowed down by planning).
    """
    if not contact_ids:
        return 0
    start = at.date()
    params = {
        "workspace_id": workspace_id,
        "contact_ids": list(contact_ids),
        "start": start,
        "horizon": start - timedelta(days=1),
        "at": at,
    }
    ids = [r.id for r in await session.execute(_AUTO_ENROLL, params)]
    await planning.materialize(session, [(workspace_id, i) for i in ids[:plan_now]], at=at)
    return len(ids)
