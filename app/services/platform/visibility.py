"""Record visibility in SQL: which contacts, and which records of theirs, a viewer sees.

Under the workspace's ``visibility: own`` an agent sees the contacts they own and those
shared with them (an assistant: those of the agents it assists), and the records hanging
off those contacts: touches, enrolments, referrals, rewards, scores, the interaction log.
Every query of such a viewer carries the condition below, so pages stay exact (nothing is
filtered after the fact) and an invisible record is simply not found, a 404 like another
workspace's. A viewer who sees everything (admins, leaders, ``team`` workspaces, API keys
bound to no member) gets statements without it: the hot paths keep their plans.

This is the one place platform names the contacts' tables (``contacts.owner_id`` and
``contact_shares``): visibility is a rule about members, and every domain applies it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    BindParameter,
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    column,
    exists,
    false,
    or_,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from app.driver import DriverStatement, fetch_row
from app.errors import Forbidden, NotFound
from app.services.platform.principals import Viewer, current_viewer

VIEWER_BIND = "viewer_members"

_contacts = table("contacts", column("workspace_id"), column("id"), column("owner_id"))
_shares = table("contact_shares", column("workspace_id"), column("contact_id"), column("member_id"))


def restricted() -> Viewer | None:
    """The request's viewer when it does not see everything, else None."""
    viewer = current_viewer()
    return None if viewer.everything else viewer


def viewer_binds() -> dict[str, Any]:
    """The bind of a statement built with ``members=None`` (a cached statement)."""
    viewer = current_viewer()
    return {VIEWER_BIND: list(viewer.member_ids)}


def _members(members: Sequence[uuid.UUID] | None) -> BindParameter[Any]:
    if members is None:
        return bindparam(VIEWER_BIND, type_=ARRAY(UUID(as_uuid=True)))
    return bindparam(VIEWER_BIND, value=list(members), type_=ARRAY(UUID(as_uuid=True)))


def owner_or_shared(
    workspace_id: ColumnElement[Any],
    contact_id: ColumnElement[Any],
    owner_id: ColumnElement[Any],
    members: Sequence[uuid.UUID] | None = None,
) -> ColumnElement[bool]:
    """The condition on a contacts row itself (its ``owner_id``, or a share)."""
    ids = _members(members)
    shared = exists().where(
        _shares.c.workspace_id == workspace_id,
        _shares.c.contact_id == contact_id,
        _shares.c.member_id == ids.any_(),
    )
    return or_(owner_id == ids.any_(), shared)


def contact_visible(
    workspace_id: ColumnElement[Any],
    contact_id: ColumnElement[Any],
    members: Sequence[uuid.UUID] | None = None,
) -> ColumnElement[bool]:
    """The condition on a record naming a contact in ``contact_id``: that contact is seen."""
    v = _contacts.alias("visible_contact")
    return exists().where(
        v.c.workspace_id == workspace_id,
        v.c.id == contact_id,
        owner_or_shared(v.c.workspace_id, v.c.id, v.c.owner_id, members),
    )


def any_contact_visible(
    workspace_id: ColumnElement[Any],
    contact_ids: Sequence[ColumnElement[Any]],
    owner_id: ColumnElement[Any] | None = None,
    members: Sequence[uuid.UUID] | None = None,
) -> ColumnElement[bool]:
    """A record seen through any of its contacts (a referral: its source, the person
    referred, the partner), or its own ``owner_id``."""
    arms = [contact_visible(workspace_id, c, members) for c in contact_ids]
    if owner_id is not None:
        arms.append(owner_id == _members(members).any_())
    return or_(*arms) if arms else false()


def where_visible(
    stmt: Select[Any],
    target: Table,
    contact_columns: Sequence[str],
    owner_column: str | None = None,
) -> Select[Any]:
    """``stmt`` over ``target`` limited to the rows the request's viewer sees through
    any of ``contact_columns`` (or ``owner_column``); unchanged for a viewer who sees
    everything."""
    viewer = restricted()
    if viewer is None:
        return stmt
    owner = target.c[owner_column] if owner_column else None
    contacts = [target.c[c] for c in contact_columns]
    return stmt.where(
        any_contact_visible(target.c.workspace_id, contacts, owner, viewer.member_ids)
    )


_MEMBERS_SQL = f"ANY(CAST(:{VIEWER_BIND} AS uuid[]))"


def _owned_sql(alias: str) -> str:
    return (
        f"({alias}.owner_id = {_MEMBERS_SQL} OR EXISTS (SELECT 1 FROM contact_shares vs"
        f" WHERE vs.workspace_id = {alias}.workspace_id AND vs.contact_id = {alias}.id"
        f" AND vs.member_id = {_MEMBERS_SQL}))"
    )


def contact_row_sql(alias: str) -> str:
    """For a text statement over ``contacts {alias}``: true when the bind ``:viewer_all``
    is, else the row is the viewer's (binds from ``text_binds``). Reports and lists in
    text SQL carry it; the ``OR`` short-circuits for a viewer who sees everything."""
    return f"(CAST(:viewer_all AS boolean) OR {_owned_sql(alias)})"


def visible_sql(workspace_sql: str, contact_sql: str) -> str:
    """``contact_visible`` for a text statement (binds from ``text_binds``)."""
    return (
        f"(CAST(:viewer_all AS boolean) OR EXISTS (SELECT 1 FROM contacts vc"
        f" WHERE vc.workspace_id = {workspace_sql} AND vc.id = {contact_sql}"
        f" AND {_owned_sql('vc')}))"
    )


def referral_visible_sql(alias: str) -> str:
    """A referral row ``alias`` is seen through any of its contacts or its owner."""
    contacts = " OR ".join(
        visible_sql(f"{alias}.workspace_id", f"{alias}.{c}")
        for c in ("source_contact_id", "referred_contact_id", "partner_contact_id")
    )
    return f"({contacts} OR {alias}.owner_id = {_MEMBERS_SQL})"


def text_binds() -> dict[str, Any]:
    viewer = current_viewer()
    return {"viewer_all": viewer.everything, VIEWER_BIND: list(viewer.member_ids)}


def require_whole_team(what: str) -> None:
    """A view of the whole team's records that cannot be cut by contact (the event feed):
    refused to a viewer who sees only their own."""
    if restricted() is not None:
        raise Forbidden(f"{what} shows the whole team's records; this member sees only their own")


async def require_visible_contacts(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_ids: Sequence[uuid.UUID | None],
    *,
    what: str = "contact",
) -> None:
    """404 unless every contact named is seen (a body naming another agent's contact
    must fail as if it did not exist); one statement for all of them."""
    viewer = restricted()
    wanted = {c for c in contact_ids if c is not None}
    if viewer is None or not wanted:
        return
    c = _contacts
    stmt = select(c.c.id).where(
        c.c.workspace_id == workspace_id,
        c.c.id.in_(wanted),
        owner_or_shared(c.c.workspace_id, c.c.id, c.c.owner_id, viewer.member_ids),
    )
    seen = {r[0] for r in (await session.execute(stmt)).all()}
    if wanted - seen:
        raise NotFound(f"{what} not found")


#: A path parameter naming a record, and the check that the viewer sees it.
PathCheck = Callable[[AsyncSession, uuid.UUID, uuid.UUID, Viewer], Awaitable[bool]]
_PATH_CHECKS: dict[str, tuple[PathCheck, str]] = {}
#: The path parameters checked (a view of ``_PATH_CHECKS`` the route class tests first).
GUARDED = _PATH_CHECKS.keys()


def guard_path_parameter(name: str, check: PathCheck, what: str) -> None:
    """Register the check of a path parameter (each domain registers its records' ids)."""
    _PATH_CHECKS[name] = (check, what)


def row_check(
    target: Table, contact_columns: Sequence[str], owner_column: str | None = None
) -> PathCheck:
    """A ``PathCheck`` for a table whose rows are seen through the named contact columns
    (or their owner): one statement, compiled once and run on the driver (``fetch_row``),
    because it runs before every such request of a restricted member."""
    owner = target.c[owner_column] if owner_column else None
    seen = any_contact_visible(target.c.workspace_id, [target.c[c] for c in contact_columns], owner)
    statement = DriverStatement(
        select(target.c.id).where(
            and_(
                target.c.workspace_id == bindparam("workspace_id"),
                target.c.id == bindparam("record_id"),
                seen,
            )
        )
    )

    async def check(
        session: AsyncSession, workspace_id: uuid.UUID, record_id: uuid.UUID, viewer: Viewer
    ) -> bool:
        params = {
            "workspace_id": workspace_id,
            "record_id": record_id,
            VIEWER_BIND: list(viewer.member_ids),
        }
        return await fetch_row(session, statement, params) is not None

    return check


async def guard_path(
    session: AsyncSession, workspace_id: uuid.UUID, path_params: dict[str, Any]
) -> None:
    """Before a handler runs: every record its path names is seen by the viewer, else 404
    (the route class calls it; nothing runs for a viewer who sees everything)."""
    viewer = restricted()
    if viewer is None:
        return
    for name, raw in path_params.items():
        found = _PATH_CHECKS.get(name)
        if found is None:
            continue
        try:
            record_id = uuid.UUID(str(raw))
        except ValueError:
            continue  # not an id: the route's own validation answers
        check, what = found
        if not await check(session, workspace_id, record_id, viewer):
            raise NotFound(f"{what} not found")
