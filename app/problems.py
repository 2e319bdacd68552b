"""RFC 9457 problem+json for every error the API returns.

One handler per exception family renders the same shape (``problem_body``); nothing
else in the code builds an error body. Unexpected errors are caught by
``RequestContextMiddleware`` while the request id is still set, logged with it and
answered with a generic 500 that carries the id but never a stack trace (see
``unexpected_error``). The ``Exception`` handler installed here only backs that up for
failures outside the middleware, where no request id exists any more.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.errors import DomainError, TooManyRequests, ValidationFailed
from app.models.platform import Problem
from app.request_context import current_request_id

PROBLEM_BASE = "https://rapport.dev/problems/"
MEDIA_TYPE = "application/problem+json"
INTERNAL_SLUG = "internal-error"
INTERNAL_TITLE = "Internal server error"
INTERNAL_DETAIL = "an unexpected error occurred; quote the request_id when reporting it"
UNAVAILABLE_SLUG = "service-unavailable"
UNAVAILABLE_TITLE = "Service unavailable"
#: A replayed ``Idempotency-Key`` whose POST created what was deleted since (410).
DELETED_SLUG = "created-resource-deleted"
log = logging.getLogger("rapport.errors")


def problem_body(
    status: int,
    slug: str,
    title: str,
    detail: str | None,
    *,
    instance: str | None,
    request_id: str | None,
) -> dict[str, Any]:
    """The one shape of every error body, shared by the handlers and the ASGI middleware."""
    return {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "request_id": request_id,
    }


def unavailable_detail(cause: str) -> str:
    """What a 503 says: the database's state, never its address or the statement."""
    return f"the database is unavailable ({cause}); retry later"


def log_unexpected(exc: BaseException, *, response_started: bool = False) -> None:
    """Log an unhandled error with its traceback; the request id comes from the context."""
    log.error(
        "unhandled error" + (" after the response started" if response_started else ""),
        exc_info=exc,
    )


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str | None,
    request: Request,
    *,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(
        status,
        slug,
        title,
        detail,
        instance=request.url.path,
        request_id=current_request_id(),
    )
    if errors is not None:
        body["errors"] = errors
    if extra:  # members of its own; never one of RFC 9457's (``status`` stays the integer)
        body.update({k: v for k, v in extra.items() if k not in body})
    return JSONResponse(
        jsonable_encoder(body), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def _clean_errors(raw: list[Any]) -> list[dict[str, Any]]:
    """Pydantic's error dicts carry inputs and exception objects; keep what a client needs."""
    return [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": err.get("type")}
        for err in raw
    ]


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    errors = [e.as_dict() for e in exc.errors] if isinstance(exc, ValidationFailed) else None
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    return problem_response(
        exc.status,
        exc.slug,
        exc.title,
        exc.detail,
        request,
        errors=errors,
        extra=exc.extra,
        headers=headers,
    )


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _clean_errors(list(exc.errors()))
    if any(e["loc"][:1] == ["path"] for e in errors):
        serving = _serving_paths(request)
        if serving and getattr(request.scope.get("route"), "path", None) not in serving:
            return _method_not_allowed(request)  # "export" is no id: a resource of its own
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return problem_response(
        422,
        "validation-failed",
        "Validation failed",
        f"{where}: {first['msg']}",
        request,
        errors=errors,
    )


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PARAMETER = re.compile(r"\{[^}/]+\}")


def _serving_paths(request: Request) -> dict[str, set[str]]:
    """The documented paths that serve the request's path, with their methods: of the
    paths matching it, those with the fewest parameters. A literal segment outranks a
    parameter, as route order makes it for the methods both have: the resource at
    ``/v1/contacts/export`` is the export, never a contact whose id is "export"."""
    path, root = request.scope["path"], request.scope.get("root_path", "")
    path = path[len(root) :] if root and path.startswith(root) else path  # as routing does
    matching: dict[str, set[str]] = {}
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = "[^/]+".join(re.escape(part) for part in _PARAMETER.split(template))
        if re.fullmatch(pattern, path):
            matching[template] = {m.upper() for m in operations} & set(_METHODS)
    fewest = min((len(_PARAMETER.findall(t)) for t in matching), default=0)
    return {t: m for t, m in matching.items() if len(_PARAMETER.findall(t)) == fewest}


def _allowed_methods(request: Request) -> str:
    """Starlette answers 405 per route; a path served by several routes allows all of
    theirs, and only theirs (``_serving_paths``)."""
    allowed = set().union(*_serving_paths(request).values())
    if not allowed:  # not a documented path (the docs pages): what its routes take
        allowed = {
            method
            for method in _METHODS
            if any(
                route.matches({**request.scope, "method": method})[0] == Match.FULL
                for route in request.app.router.routes
            )
        }
    if "GET" in allowed:
        allowed.add("HEAD")
    return ", ".join(sorted(allowed))


def _method_not_allowed(request: Request) -> JSONResponse:
    headers = {"Allow": _allowed_methods(request)}
    return problem_response(
        405,
        "method-not-allowed",
        "Method not allowed",
        "Method Not Allowed",
        request,
        headers=headers,
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        return _method_not_allowed(request)
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 400:  # FastAPI's "error parsing the body": bytes that are not JSON
        return problem_response(
            422,
            "validation-failed",
            "Validation failed",
            "body: not valid JSON",
            request,
            errors=[{"loc": ["body"], "msg": "not valid JSON", "type": "json_invalid"}],
        )
    slug = {404: "not-found"}.get(exc.status_code, "http-error")
    title = {404: "Not found"}.get(exc.status_code, "HTTP error")
    return problem_response(
        exc.status_code, slug, title, str(exc.detail), request, headers=headers or None
    )


async def _integrity(request: Request, exc: Exception) -> JSONResponse:
    log.warning("integrity error reached the handler: %s", exc.__class__.__name__)
    return problem_response(
        409,
        "conflict",
        "Conflict",
        "the change conflicts with existing data (a reference or uniqueness rule)",
        request,
    )


async def _data(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        422,
        "validation-failed",
        "Validation failed",
        "a value is out of range or malformed for storage",
        request,
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Last resort for errors raised outside ``RequestContextMiddleware``."""
    log_unexpected(exc)
    return problem_response(500, INTERNAL_SLUG, INTERNAL_TITLE, INTERNAL_DETAIL, request)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _data)
    app.add_exception_handler(Exception, _unexpected)


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {MEDIA_TYPE: {}}}


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _problem(
        "Missing, malformed, unknown, expired or revoked credential (API key or member token)."
    ),
    403: _problem("The API key's scopes or the member's role do not allow this operation."),
    422: _problem("Invalid input; `errors` names each offending field."),
    500: _problem("Unexpected error; the body carries the request id."),
    503: {
        **_problem(
            "The database is unavailable or did not answer in time. Retry after `Retry-After` "
            "seconds; a POST retried with the same `Idempotency-Key` is applied once."
        ),
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    },
}
ErrorResponses = dict[int | str, dict[str, Any]]
NOT_FOUND: ErrorResponses = {404: _problem("No such resource in this workspace.")}
CONFLICT: ErrorResponses = {
    409: _problem("Conflicts with the current state, or an idempotent request in flight.")
}
PRECONDITION: ErrorResponses = {412: _problem("If-Match named a stale version.")}
