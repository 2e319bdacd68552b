"""Who a request speaks for, and what it may see: the actor and the viewer.

A request is made by an *actor*: a member (signed in, or through an API key bound to
them), an API key of the workspace, or Rapport itself (the scheduler, the import job). The
actor is stamped on every change it makes: events, stage changes, reward decisions, the
interaction log and the audit log.

What the actor may see is its *viewer*: everything, or only the contacts whose owner is
one of ``member_ids`` or that are shared with one of them (the workspace's ``visibility``
is ``own`` and the member is an agent or an assistant), and the records of those contacts.
Services enforce it in SQL through ``app.services.platform.visibility``.

Both live in context variables set once per request by the authentication dependency
(``acting_as``), so a service reads them where it writes an event or builds a query
instead of every function growing two more parameters; outside a request (jobs, tests
calling services directly) the actor is ``SYSTEM`` and the viewer sees everything.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

from app.errors import Forbidden

ActorType = Literal["member", "api_key", "system"]
RoleName = Literal["admin", "leader", "agent", "assistant"]

#: What a signed-in member may do, by role: ``admin`` manages the workspace (keys,
#: members, settings, webhooks, the audit log); the others read and write records.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "write", "admin"}),
    "leader": frozenset({"read", "write"}),
    "agent": frozenset({"read", "write"}),
    "assistant": frozenset({"read", "write"}),
}
#: Roles that see the whole team whatever the workspace's visibility.
SEES_ALL_ROLES = frozenset({"admin", "leader"})


@dataclass(frozen=True)
class Actor:
    type: ActorType
    id: uuid.UUID | None
    name: str

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "id": None if self.id is None else str(self.id),
            "name": self.name,
        }


SYSTEM = Actor(type="system", id=None, name="system")


@dataclass(frozen=True)
class Viewer:
    """``everything``, or the members whose contacts (owned or shared) are visible."""

    everything: bool
    member_ids: tuple[uuid.UUID, ...] = ()


EVERYTHING = Viewer(everything=True)


def viewer_for(role: str, visibility: str, member_ids: tuple[uuid.UUID, ...]) -> Viewer:
    """A member's viewer: admins and leaders see all; agents and assistants all under
    ``team`` visibility, else their own members' contacts (an assistant: its agents')."""
    if role in SEES_ALL_ROLES or visibility == "team":
        return EVERYTHING
    return Viewer(everything=False, member_ids=member_ids)


@dataclass(frozen=True)
class AuthContext:
    """A resolved credential: its workspace, scopes, and who acts (``actor``) seeing what
    (``viewer``). ``key_id`` is the API key's id, ``member_id`` the member's (a bound key
    has both; a member token has no key)."""

    workspace_id: uuid.UUID
    key_id: uuid.UUID | None
    scopes: frozenset[str]
    member_id: uuid.UUID | None = None
    role: str | None = None
    actor: Actor = SYSTEM
    viewer: Viewer = field(default=EVERYTHING)
    #: ``(requests_per_minute, burst)`` set for this key or its workspace; None: the
    #: service's default (``app.services.platform.rate_limits``).
    rate_limit: tuple[int, int] | None = None

    @property
    def subject_id(self) -> uuid.UUID | None:
        """Whose bucket a request draws from: the API key's, else the member's."""
        return self.key_id or self.member_id

    def may_act_for(self, member_id: uuid.UUID) -> bool:
        """Whether this credential may act on ``member_id``'s own things (their calendar
        feed): any API key not bound to a member, admins and leaders, the member
        themselves, and an assistant for the agents it assists under ``own`` visibility."""
        if self.member_id is None or self.role in SEES_ALL_ROLES:
            return True
        return member_id == self.member_id or member_id in self.viewer.member_ids

    def require(self, scope: str) -> None:
        """``admin`` includes every scope; ``read`` and ``write`` are independent."""
        if scope not in self.scopes and "admin" not in self.scopes:
            if self.member_id is not None and self.key_id is None:
                raise Forbidden(f"a member with the role '{self.role}' may not do this ('{scope}')")
            raise Forbidden(f"this API key lacks the '{scope}' scope")


_actor: ContextVar[Actor] = ContextVar("rapport_actor", default=SYSTEM)
_viewer: ContextVar[Viewer] = ContextVar("rapport_viewer", default=EVERYTHING)
#: Whether the request's change was logged in detail (``app.services.platform.audit``):
#: a one-item list set per request, so a mark made in a copied context (a task, the
#: greenlet of a flush) is seen by the request that owns it.
_audited: ContextVar[list[bool] | None] = ContextVar("rapport_audited", default=None)


def mark_audited() -> None:
    """The request's change is in the audit log in detail; no generic row is needed."""
    flag = _audited.get()
    if flag is not None:
        flag[0] = True


def was_audited() -> bool:
    flag = _audited.get()
    return flag is not None and flag[0]


def current_actor() -> Actor:
    return _actor.get()


def current_viewer() -> Viewer:
    return _viewer.get()


def act_as(auth: AuthContext) -> None:
    """Set the request's actor and viewer (the authentication dependency does, once).

    Each request runs in its own context (a task of the server), so nothing leaks into
    the next request; background work the request starts inherits its actor.
    """
    _actor.set(auth.actor)
    _viewer.set(auth.viewer)


@contextmanager
def request_principal() -> Iterator[None]:
    """The span of one request: it starts as ``SYSTEM`` seeing everything, and whatever
    its authentication sets is undone at its end (an in-process client calls the app in
    the caller's own task, where a leftover would outlive the request)."""
    token = _audited.set([False])
    try:
        with acting_as(SYSTEM, EVERYTHING):
            yield
    finally:
        _audited.reset(token)


@contextmanager
def acting_as(actor: Actor, viewer: Viewer = EVERYTHING) -> Iterator[None]:
    """Run a block as ``actor`` seeing ``viewer`` (jobs, tests), then restore the previous."""
    actor_token = _actor.set(actor)
    viewer_token = _viewer.set(viewer)
    try:
        yield
    finally:
        _viewer.reset(viewer_token)
        _actor.reset(actor_token)
