"""The OpenAPI document's promises about headers: what each operation takes and answers.

FastAPI documents the parameters and bodies a route declares; the headers the plumbing
handles for every route are added here, so generated clients can send and read them:

* ``Idempotency-Key`` on every POST (``TransactionalRoute`` handles it), and on its 2xx
  answers ``Idempotent-Replayed`` (and ``Idempotent-Redacted`` where a secret is shown);
  a POST that creates (its 2xx answers ``Location``) also answers 410 to a replay once
  what it created is deleted;
* ``X-Request-ID`` on every answer (``RequestContextMiddleware``);
* on every operation that takes a credential: ``RateLimit-Policy`` and ``RateLimit`` on
  every answer, and a 429 with ``Retry-After`` (``app.deps.authenticate``);
* ``ETag`` on the 2xx answers of a resource with a ``version`` (``set_etag``), and
  ``Location`` where a route declares ``CREATED_AT``.

``tests/conftest.py`` holds every answer the suite receives to these declarations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from app.models.platform.common import secret_fields
from app.problems import MEDIA_TYPE

_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id (yours if you sent a valid `X-Request-ID`), as in "
        "the logs and in an error's `request_id`.",
        "schema": {"type": "string", "example": "3f2c9b1e0e7d4c35a1c1f4f2d3b2a1c0"},
    },
    "RateLimit-Policy": {
        "description": "The credential's limit (IETF draft): quota `q` per window `w` "
        'seconds, e.g. `"default";q=600;w=60`.',
        "schema": {"type": "string", "example": '"default";q=600;w=60'},
    },
    "RateLimit": {
        "description": "What is left (IETF draft): `r` requests remaining now, `t` seconds "
        "until the bucket is full again.",
        "schema": {"type": "string", "example": '"default";r=599;t=1'},
    },
    "Retry-After": {
        "description": "Seconds to wait before the next request fits the limit.",
        "schema": {"type": "integer", "example": 1},
    },
    "ETag": {
        "description": "The resource's version; send it back in `If-Match`.",
        "schema": {"type": "string", "example": '"3"'},
    },
    "Location": {
        "description": "Where the created resource is read.",
        "schema": {
            "type": "string",
            "example": "/v1/contacts/5a3f0c1e-8d2b-4c6a-9f1e-2b7d4e6a8c10",
        },
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same `Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"], "example": "true"},
    },
    "Idempotent-Redacted": {
        "description": "On a replay: the fields shown once (secrets) answered `<redacted>`.",
        "schema": {"type": "string", "example": "key"},
    },
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Your id for this request: a retry with the same key and body within 24 "
    "hours answers the stored response (`Idempotent-Replayed: true`) without repeating it.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "example": "crm-sync-2026-12-07-0001",
}
#: A response naming the resource's URL: ``responses=CREATED_AT`` on a route whose 201
#: (``ACCEPTED_AT``: 202) sends ``Location``, ``LOCATED`` in any other response's entry.
LOCATED: dict[str, Any] = {"headers": {"Location": {"$ref": "#/components/headers/Location"}}}
CREATED_AT: dict[int | str, dict[str, Any]] = {201: LOCATED}
ACCEPTED_AT: dict[int | str, dict[str, Any]] = {202: LOCATED}
_TOO_MANY = {
    "description": "The credential's rate limit is spent; retry after `Retry-After` seconds.",
    "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
_GONE = {
    "description": "A replay (`Idempotent-Replayed`) of a create whose resource has since "
    "been deleted: the key keeps its one effect; send a new key to create again.",
    "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def _by_operation(routes: Sequence[Any]) -> dict[str, APIRoute]:
    """The routes by operation id (included routers' routes too)."""
    found: dict[str, APIRoute] = {}
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.operation_id:
            found[route.operation_id] = route
    return found


def _versioned(route: APIRoute | None) -> bool:
    model = route.response_model if route is not None else None
    return (
        isinstance(model, type)
        and issubclass(model, BaseModel)
        and "version" in (model.model_fields)
    )


def _problem_content(response: dict[str, Any]) -> None:
    """An error answers ``application/problem+json`` with the ``Problem`` schema: FastAPI
    puts a route's error model under ``application/json`` (which is never sent) and leaves
    the media type the route names without a schema."""
    content = response.get("content", {})
    if MEDIA_TYPE in content and not content[MEDIA_TYPE].get("schema"):
        schema = content.pop("application/json", {}).get("schema")
        content[MEDIA_TYPE] = {"schema": schema or {"$ref": "#/components/schemas/Problem"}}


def complete(document: dict[str, Any], routes: Sequence[Any]) -> None:
    """Add the plumbing's headers to every operation of ``document`` (in place)."""
    components = document.setdefault("components", {})
    components.setdefault("headers", {}).update(_HEADERS)
    by_operation = _by_operation(routes)
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method in _METHODS:
                route = by_operation.get(operation.get("operationId", ""))
                _complete_operation(method, operation, route)


def _complete_operation(method: str, operation: dict[str, Any], route: APIRoute | None) -> None:
    limited = bool(operation.get("security"))
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if method == "post":
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == "Idempotency-Key" for p in parameters):
            parameters.append(IDEMPOTENCY_KEY)
        if _creates(responses):
            responses.setdefault("410", _GONE)
    if limited:
        responses.setdefault("429", _TOO_MANY)
    for code, response in responses.items():
        _problem_content(response)
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = _ref("X-Request-ID")
        if limited:
            headers["RateLimit-Policy"] = _ref("RateLimit-Policy")
            headers["RateLimit"] = _ref("RateLimit")
        if code == "429":
            headers["Retry-After"] = _ref("Retry-After")
        if code == "410" and method == "post":
            headers["Idempotent-Replayed"] = _ref("Idempotent-Replayed")
        if not code.startswith("2"):
            continue
        if _versioned(route):
            headers["ETag"] = _ref("ETag")
        if method == "post":
            headers["Idempotent-Replayed"] = _ref("Idempotent-Replayed")
            if route is not None and secret_fields(route.response_model):
                headers["Idempotent-Redacted"] = _ref("Idempotent-Redacted")


def _creates(responses: dict[str, Any]) -> bool:
    """Whether a 2xx answers ``Location``: the operation creates something it names."""
    return any(
        code.startswith("2") and "Location" in response.get("headers", {})
        for code, response in responses.items()
    )
