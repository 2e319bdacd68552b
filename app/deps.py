"""Typed dependencies, declared once and used by every router.

Every dependency is ``async def`` although none awaits: FastAPI runs a plain ``def``
dependency in a worker thread, and those hand-offs (four per request) cost more than
everything else these functions do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar, get_origin

from fastapi import Depends, Header, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ValidationError, WithJsonSchema
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.config import Settings
from app.errors import PreconditionFailed, TooManyRequests
from app.services.platform import DEFAULT_LIMIT, MAX_LIMIT, AuthContext, PageRequest, act_as
from app.state import AppState

AUTH_SCOPE_KEY = "rapport.auth"  # the scope key of the request's resolved credential
RATE_LIMIT_SCOPE_KEY = "rapport.rate_limit"  # its rate limit decision


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.rapport
    return state


async def authenticate(request: Request) -> AuthContext:
    """Resolve the bearer key once per request; later callers reuse the result."""
    # Kept in the scope, not ``request.state``: a missing attribute of Starlette's State
    # raises (and formats) an AttributeError, 4% of a GET of a contact (py-spy).
    cached: AuthContext | None = request.scope.get(AUTH_SCOPE_KEY)
    if cached is not None:
        return cached
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    state = app_state(request)
    credential = token.strip() if scheme.lower() == "bearer" else None
    now = state.clock.now()
    auth = await state.keys.resolve(state.db, credential, at=now)
    request.scope[AUTH_SCOPE_KEY] = auth
    act_as(auth)  # the actor stamped on changes, the viewer queries filter by
    await _draw(request, state, auth, now)
    return auth


async def _draw(request: Request, state: AppState, auth: AuthContext, now: datetime) -> None:
    """Take the request's token from its credential's bucket; none left is a 429. The
    decision rides in the scope for ``app.edge.RateLimitHeaders`` to answer with."""
    subject = auth.subject_id
    if subject is None or not state.settings.rate_limits_enabled:
        return
    per_minute, burst = auth.rate_limit or (state.settings.rate_limit_per_minute,) * 2
    decision = await state.limiter.take(
        state.db, auth.workspace_id, subject, per_minute=per_minute, burst=burst, at=now
    )
    request.scope[RATE_LIMIT_SCOPE_KEY] = decision
    if not decision.allowed:
        raise TooManyRequests(
            f"this credential's limit is {per_minute} requests a minute (bursts of {burst}); "
            f"retry in {decision.retry_after} s",
            retry_after=decision.retry_after,
        )


_BEARER_FORMAT = "rk_live_…"
_BEARER_DESCRIPTION = "An API key of the workspace: `Authorization: Bearer rk_live_…`."


class ScopedBearer(HTTPBearer):
    """The bearer scheme of the OpenAPI document, resolving the key and checking a scope.

    The dependency is the security scheme itself rather than a function depending on
    ``Security(HTTPBearer())``: FastAPI solves each dependency level with its own
    recursive pass (cache key, parameter extraction of path, query, header and cookie),
    and that second level was about a tenth of a GET of a contact (pyinstrument). The
    document is the same: every scope shares the scheme name ``HTTPBearer`` and model.
    """

    def __init__(self, *scopes: str) -> None:
        super().__init__(
            scheme_name="HTTPBearer",
            bearerFormat=_BEARER_FORMAT,
            description=_BEARER_DESCRIPTION,
            auto_error=False,
        )
        self.scopes = scopes

    async def __call__(self, request: Request) -> AuthContext:  # type: ignore[override]
        auth = await authenticate(request)
        for scope in self.scopes:
            auth.require(scope)
        return auth


async def get_session(request: Request) -> AsyncSession:
    session: AsyncSession = request.state.session
    return session


async def get_clock(request: Request) -> Clock:
    return app_state(request).clock


async def get_settings_dep(request: Request) -> Settings:
    return app_state(request).settings


async def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}.")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=1024,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="The `next_cursor` of the previous page, unchanged.",
        ),
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


M = TypeVar("M", bound=BaseModel)


def query_model(
    model: type[M], documented_order: Sequence[str]
) -> tuple[Callable[[Request], Coroutine[Any, Any, M]], list[dict[str, Any]]]:
    """A dependency reading a route's query parameters into ``model`` in one validation,
    and the OpenAPI ``parameters`` FastAPI would have listed for them.

    For routes with many filters: FastAPI resolves, extracts and validates each declared
    query parameter on its own (GET /v1/contacts: 16 of them, ~500 Python calls a
    request). Values are read as FastAPI reads them (the last of a repeated scalar, every
    value of a list, an empty list as absent) and errors are FastAPI's, located at
    ``["query", name]``. The route passes the parameters as ``openapi_extra``; they are
    the model's own field schemas, in ``documented_order``.
    """
    fields = model.model_fields
    lists = frozenset(n for n, f in fields.items() if get_origin(f.annotation) is list)
    schema = model.model_json_schema()
    assert "$defs" not in schema, "query fields must have inline schemas"
    parameters: list[dict[str, Any]] = []
    for name in documented_order:
        parameter = {
            "name": name,
            "in": "query",
            "required": fields[name].is_required(),
            "schema": schema["properties"][name],
        }
        if fields[name].description is not None:
            parameter["description"] = fields[name].description
        parameters.append(parameter)

    async def dependency(request: Request) -> M:
        params = request.query_params
        values: dict[str, Any] = {}
        for name, value in params.items():
            if name in fields:
                values[name] = params.getlist(name) if name in lists else value
        try:
            return model.model_validate(values)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            raise RequestValidationError(
                [{**e, "loc": ("query", *e["loc"])} for e in errors]
            ) from None

    dependency.__name__ = f"{model.__name__}_query"
    return dependency, parameters


_IF_MATCH = r'^\s*(\*|(W/)?"\d{1,18}")\s*$'
_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,18})"\s*$')


async def if_match(
    value: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=64,
            pattern=_IF_MATCH,
            description='The `ETag` you read, e.g. `"3"`; a stale one gets 412.',
        ),
        # A header is absent or a string: a `null` arm would document the literal "null".
        WithJsonSchema({"type": "string", "maxLength": 64, "pattern": _IF_MATCH}),
    ] = None,
) -> int | None:
    if value is None or value.strip() == "*":
        return None
    match = _ETAG.match(value)
    if match is None:
        raise PreconditionFailed(f"If-Match {value!r} does not name a version of this resource")
    return int(match.group(1))


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ReadAuth = Annotated[AuthContext, Security(ScopedBearer("read"))]
WriteAuth = Annotated[AuthContext, Security(ScopedBearer("write"))]
AdminAuth = Annotated[AuthContext, Security(ScopedBearer("admin"))]
#: A write that hands out read access (a calendar feed token): both scopes.
ReadWriteAuth = Annotated[AuthContext, Security(ScopedBearer("read", "write"))]
PageDep = Annotated[PageRequest, Depends(page_params)]
IfMatchDep = Annotated[int | None, Depends(if_match)]
