"""Routers skipped when no path of theirs can match, before FastAPI matches their routes.

FastAPI matches a request against the app's routes one by one, and each included router
it meets matches all of its own routes (walking its route tree for changes first, setting
and restoring scope keys around each route): about 5 us a router on this machine, so a
request for the last of 26 routers spent 130-160 us in routing alone, against 17-24 us
for a contact (the first router). A router none of whose paths starts like the request's
path can match neither fully nor partly (a 405 needs the path to match too), so it is
answered "no match" from a string comparison, and the order of the routes, which
decides between overlapping paths, is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

Matcher = Callable[[Scope], tuple[Match, Scope]]


def _literal_start(path: str) -> str:
    """What every request path a route template matches starts with."""
    return path.split("{", 1)[0]


def _screened(matches: Matcher, starts: tuple[str, ...]) -> Matcher:
    def screened(scope: Scope) -> tuple[Match, Scope]:
        # Behind a root path the path matched is not scope["path"]: leave it to FastAPI.
        if scope.get("root_path") or scope["path"].startswith(starts):
            return matches(scope)
        return Match.NONE, {}

    return screened


# Each router's starts by the prefix it is included with. Working them out walks the
# router's whole route tree (a quarter of a second for the app's routers), and every app
# built in a process (one per test) includes the same module-level routers. Keyed by the
# router's identity (routers are not hashable), which the entry keeps alive and checks.
_KNOWN: dict[tuple[int, str], tuple[object, tuple[str, ...] | None]] = {}


def _starts(route: BaseRoute) -> tuple[str, ...] | None:
    """The literal starts of an included router's paths; None for anything else."""
    contexts: Any = getattr(route, "effective_route_contexts", None)
    if contexts is None:
        return None
    router = getattr(route, "original_router", None)
    prefix = getattr(getattr(route, "include_context", None), "prefix", None)
    if router is None or not isinstance(prefix, str):
        return _starts_of(contexts())
    known = _KNOWN.get((id(router), prefix))
    if known is None or known[0] is not router:
        known = _KNOWN[(id(router), prefix)] = (router, _starts_of(contexts()))
    return known[1]


def _starts_of(contexts: Any) -> tuple[str, ...] | None:
    paths = [getattr(context, "path", "") for context in contexts]
    if not paths or not all(paths):
        return None  # a route without a path template (a mount, say): always matched
    return tuple(sorted({_literal_start(p) for p in paths}))


def screen_routers(app: FastAPI) -> None:
    """Install the screen on the app's included routers, once every router is included."""
    for route in app.router.routes:
        starts = _starts(route)
        if starts is not None:
            route.matches = _screened(route.matches, starts)  # type: ignore[method-assign,assignment]
