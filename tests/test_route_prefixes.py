"""Routers screened by their paths' literal starts route every request as FastAPI would."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from starlette.routing import Match
from starlette.types import Scope

from app import main
from app.routers.platform.route_prefixes import _screened, screen_routers
from tests.conftest import make_settings

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
EXTRA_PATHS = ("/", "/v1", "/v1/", "/v1/nope", "/v1/contacts/", "/v1/touches/", "/v1/contacts/x/y")


def _resolve(app: FastAPI, method: str, path: str) -> tuple[str, Any]:
    """What the app's router would run for the request: the route it picks, as FastAPI's
    own loop picks it (the first full match, else the first partial one)."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": [],
        "app": app,
        "router": app.router,
    }
    partial = None
    for position, route in enumerate(app.router.routes):
        match, child = route.matches(scope)
        if match is Match.FULL:
            inner = getattr(route, "_match", None)
            if inner is None:
                return "full", getattr(route, "path", route)
            scope.update(child)
            _match, _child, chosen, _context = inner(scope)
            return "full", (getattr(chosen, "path", None), sorted(getattr(chosen, "methods", ())))
        if match is Match.PARTIAL and partial is None:
            partial = position
    return ("partial", partial) if partial is not None else ("none", None)


def _paths(app: FastAPI) -> list[str]:
    documented = app.openapi()["paths"]
    some_id = str(uuid.uuid4())
    concrete = [re.sub(r"\{[^}]+\}", some_id, p) for p in documented]
    words = [re.sub(r"\{[^}]+\}", "duplicates", p) for p in documented]
    return sorted({*concrete, *words, *EXTRA_PATHS})


def test_every_request_is_routed_as_without_the_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    main.create_app(make_settings())
    screened = main.create_app(make_settings())  # screened by the starts the first worked out
    monkeypatch.setattr(main, "screen_routers", lambda _app: None)
    plain = main.create_app(make_settings())
    checked = 0
    for path in _paths(plain):
        for method in METHODS:
            assert _resolve(screened, method, path) == _resolve(plain, method, path), (method, path)
            checked += 1
    assert checked > 500


def test_a_router_is_matched_only_for_paths_it_may_hold() -> None:
    seen: list[str] = []

    def matches(scope: Scope) -> tuple[Match, Scope]:
        seen.append(scope["path"])
        return Match.FULL, {}

    screen = _screened(matches, ("/v1/touches", "/v1/touch-plans/"))
    assert screen({"path": "/v1/contacts", "root_path": ""}) == (Match.NONE, {})
    assert screen({"path": "/v1/touch-plans", "root_path": ""}) == (Match.NONE, {})
    assert screen({"path": "/v1/touches/abc", "root_path": ""}) == (Match.FULL, {})
    assert screen({"path": "/api/v1/contacts", "root_path": "/api"}) == (Match.FULL, {})
    assert seen == ["/v1/touches/abc", "/api/v1/contacts"]  # behind a root path: FastAPI's


def test_a_router_included_under_two_prefixes_is_screened_by_each() -> None:
    router = APIRouter()
    router.add_api_route("/items", lambda: {}, methods=["GET"])
    for prefix, other in (("/a", "/b"), ("/b", "/a")):
        app = FastAPI()
        app.include_router(router, prefix=prefix)
        screen_routers(app)
        assert _resolve(app, "GET", f"{prefix}/items") == ("full", ("/items", ["GET"]))
        assert _resolve(app, "GET", f"{other}/items") == ("none", None)
