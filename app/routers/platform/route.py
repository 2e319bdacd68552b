"""The route class every API route uses: one transaction and idempotency per request.

The request owns the transaction: a session is opened before the handler runs, committed
after the response is rendered (so a serialisation error rolls back too) and rolled back
on any error. A write that is one statement may commit it alone instead
(``app.driver.fetch_sole_write``); its session then never begins, and there is nothing to
commit. Reads (GET, HEAD, OPTIONS) run on a read-only session without a
transaction (``Database.read_session``): they had nothing to commit, and the ``BEGIN``
and ``ROLLBACK`` around them were two of a read's three database round trips (four with
the pool's pre-ping). POSTs carrying ``Idempotency-Key`` are checked and remembered
inside the same transaction, so a stored response always describes a committed change.
Fields of the response model marked ``SECRET`` (app.models.platform.common) are redacted in the
stored copy.

A JSON body is parsed here once, before the endpoint's inputs are solved, with a bound
on its nesting (``app.json_codec.read_body``): ``json.loads``, which FastAPI would call,
recursed until ``RecursionError`` on a few KB of ``[``. The value is kept where
Starlette keeps the body's JSON, so FastAPI's own handler reads it from there.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Callable, Coroutine, Set
from datetime import timedelta
from typing import Any, TypeVar, get_type_hints

from fastapi import Request, Response, params
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app.db import SEALED
from app.deps import AUTH_SCOPE_KEY, ScopedBearer, app_state, authenticate
from app.errors import ValidationFailed
from app.json_codec import TooDeep, from_json, read_body, to_json
from app.models.platform.common import secret_fields
from app.problems import DELETED_SLUG, MEDIA_TYPE, problem_body
from app.routers.platform.body_errors import locating_parse_errors
from app.services.platform import audit, idempotency
from app.services.platform.principals import AuthContext, was_audited
from app.services.platform.visibility import GUARDED, guard_path
from app.state import AppState

REPLAYED_HEADER = "Idempotent-Replayed"
_KEPT_HEADERS = ("content-type", "location", "etag")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


_CANONICAL_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _effective(route: APIRoute) -> Any:
    """What FastAPI's own handler of ``route`` is built from: for a route of an included
    router, its inclusion context (with that inclusion's dependant and the app's
    dependency overrides), which FastAPI passes in a context variable."""
    context = getattr(fastapi_routing, "_effective_route_context_var", None)
    effective = context.get() if context is not None else None
    if effective is not None and effective.original_route is route:
        return effective
    return route


def _request_only(dependency: Dependant) -> bool:
    """An ``async def`` dependency of the request alone (no parameters of its own)."""
    call = dependency.call
    if call is None or dependency.name is None or dependency.dependencies:
        return False
    function = call if inspect.isfunction(call) else getattr(call, "__call__", None)  # noqa: B004
    return (
        inspect.iscoroutinefunction(function)
        and dependency.request_param_name is not None
        and not (
            dependency.path_params
            or dependency.query_params
            or dependency.header_params
            or dependency.cookie_params
            or dependency.body_params
            or dependency.response_param_name
            or dependency.background_tasks_param_name
            or dependency.security_scopes_param_name
            or dependency.http_connection_param_name
        )
    )


def _json_model_body(dependant: Dependant) -> tuple[str, type[BaseModel]] | None:
    """The parameter name and model of a body that is one pydantic model, not embedded."""
    if len(dependant.body_params) != 1:
        return None
    field = dependant.body_params[0]
    model = field.field_info.annotation
    if (
        getattr(field.field_info, "embed", None)
        or not isinstance(field.field_info, params.Body)
        or isinstance(field.field_info, params.Form)
        or not (inspect.isclass(model) and issubclass(model, BaseModel))
    ):
        return None
    return field.name, model


def lean_handler(route: APIRoute, original: Handler) -> Handler | None:
    """A handler calling ``route``'s endpoint without FastAPI's dependency solving, for
    routes whose inputs are all trivial; None for any other route.

    Solving a route's dependencies (cache keys, one recursive pass per level, parameter
    extraction of path, query, header and cookie) was a seventh of a GET of a contact's
    CPU under ``wrk`` (py-spy). A route qualifies when its inputs are only UUID path
    parameters, at most one JSON body that is one pydantic model (``POST /v1/contacts``)
    and ``async`` dependencies taking the request alone (the key check, the session, the
    clock), and its endpoint returns a ``Response`` (nothing to serialise). Anything else,
    a path parameter not in canonical UUID form, a body not sent as ``application/json``
    or one that does not parse or validate, goes to FastAPI's own ``original`` handler,
    so every error is FastAPI's as before. A body is validated as FastAPI validates it
    (the model, in Python mode, on the JSON decoded exactly: ``json_codec``); the request
    keeps the body it read, for the fallback and the idempotency fingerprint.
    """
    effective = _effective(route)
    dependant: Dependant = effective.dependant
    endpoint = dependant.call
    if endpoint is None or not inspect.iscoroutinefunction(endpoint):
        return None
    returns = get_type_hints(endpoint).get("return")
    if not (inspect.isclass(returns) and issubclass(returns, Response)):
        return None
    body = _json_model_body(dependant)
    if (
        dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or (dependant.body_params and body is None)
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or dependant.http_connection_param_name
        or dependant.websocket_param_name
        or not all(_request_only(d) for d in dependant.dependencies)
        or not all(f.field_info.annotation is uuid.UUID for f in dependant.path_params)
        or any(f.field_info.metadata for f in dependant.path_params)
    ):
        return None
    path_names = [f.name for f in dependant.path_params]
    dependencies = [(str(d.name), d.call) for d in dependant.dependencies]
    request_name = dependant.request_param_name
    overrides = effective.dependency_overrides_provider

    async def handler(request: Request) -> Response:
        if overrides is not None and getattr(overrides, "dependency_overrides", None):
            return await original(request)
        values: dict[str, Any] = {}
        raw = request.path_params
        for name in path_names:
            if _CANONICAL_UUID.match(raw[name]) is None:
                return await original(request)
            values[name] = uuid.UUID(raw[name])
        if body is not None:
            body_name, model = body
            content_type = request.headers.get("content-type", "")
            if content_type.partition(";")[0].strip().lower() != "application/json":
                return await original(request)
            try:
                values[body_name] = model.model_validate(await _json_of(request))
            except ValueError:  # not UTF-8, not JSON, or not valid: FastAPI's own error
                return await original(request)
        solved: dict[Any, Any] = {}
        for parameter, call in dependencies:
            if call not in solved:
                solved[call] = await call(request)  # type: ignore[misc]
            values[parameter] = solved[call]
        if request_name is not None:
            values[request_name] = request
        response: Response = await endpoint(**values)
        return response

    return handler


_CHECKS_VISIBILITY = "__rapport_checks_visibility__"
E = TypeVar("E", bound=Callable[..., Any])


def checks_visibility(endpoint: E) -> E:
    """Mark an endpoint whose own statement applies record visibility to the record in
    its path, so the route class does not check it first (``GET /v1/contacts/{id}``: one
    statement, not two, for a member who sees only their own)."""
    setattr(endpoint, _CHECKS_VISIBILITY, True)
    return endpoint


async def _json_of(request: Request) -> Any:
    """The body's JSON value, parsed once: kept in Starlette's own cache of it, which
    ``Request.json()`` (FastAPI's handler) then returns. ``ValueError`` if not JSON."""
    if not hasattr(request, "_json"):
        request._json = read_body(await request.body())
    return request._json


async def _bounded_json(request: Request, largest: int) -> None:
    """Refuse a JSON body nested too deep (422 naming ``body``) before anything parses
    it; a body that is not JSON is left for FastAPI to refuse in its own words, and one
    larger than ``largest`` bytes (only an import's file may be) to its endpoint."""
    kind = request.headers.get("content-type", "application/json").partition(";")[0]
    kind = kind.strip().lower()
    if not (kind == "application/json" or kind.endswith("+json")):
        return
    if not 0 < len(await request.body()) <= largest:
        return
    try:
        await _json_of(request)
    except TooDeep as exc:
        raise ValidationFailed.on(["body"], str(exc)) from None
    except ValueError:
        pass


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        fastapi_handler = locating_parse_errors(super().get_route_handler())
        original = lean_handler(self, fastapi_handler) or fastapi_handler
        secrets = secret_fields(self.response_model)
        guarded = not getattr(self.endpoint, _CHECKS_VISIBILITY, False)
        authenticated = _authenticates(self.dependant)
        if _versioned(self.response_model):
            original = _with_etag(original)

        async def handler(request: Request) -> Response:
            state = app_state(request)
            if authenticated:
                # The credential and its rate limit first, before any session: a refused
                # request costs no connection, and a lease of tokens writes.
                await authenticate(request)
            if request.method in READ_METHODS:
                # No transaction to open or end, no idempotency to check: see app.db.
                async with state.db.read_session() as reader:
                    request.state.session = reader
                    if guarded:
                        await _guard(request, reader)
                    return await original(request)
            await _bounded_json(request, state.settings.max_body_bytes)
            session = state.db.sessionmaker()
            request.state.session = session
            began = False  # a session whose one write committed on its own holds nothing
            try:
                if guarded:
                    await _guard(request, session)
                response = await _run(request, original, state, secrets)
                await self._audit(request, response, state)
                await _answer_deleted(request, response)
                began = session.in_transaction()
                if began:
                    await session.commit()
            except BaseException:
                began = True
                await session.rollback()
                raise
            finally:
                if began:
                    await session.close()
            return response

        return handler

    async def _audit(self, request: Request, response: Response, state: AppState) -> None:
        """The audit log's row for a successful write no service logged in detail: the
        operation, its resource (the route's tag) and the resource's id (the ``Location``
        or ``id`` of what it created, else the last path parameter)."""
        auth: AuthContext | None = request.scope.get(AUTH_SCOPE_KEY)
        session = request.state.session
        if (
            auth is None
            or not 200 <= response.status_code < 300
            or REPLAYED_HEADER in response.headers
            or was_audited()
            or session.info.get(SEALED)
        ):
            return
        location = response.headers.get("location")
        created = _created_id(response)
        if location:
            resource_id: str | None = location.rstrip("/").rpartition("/")[2]
        elif created is not None:
            resource_id = created
        else:
            values = list(request.path_params.values())
            resource_id = str(values[-1]) if values else None
        await audit.record_request(
            session,
            auth.workspace_id,
            operation=self.operation_id or self.name,
            resource_type=str(self.tags[0]) if self.tags else "workspace",
            resource_id=resource_id,
            at=state.clock.now(),
        )


def _versioned(model: Any) -> bool:
    return (
        inspect.isclass(model)
        and issubclass(model, BaseModel)
        and "version" in (model.model_fields)
    )


def _with_etag(handler: Handler) -> Handler:
    """A resource with a ``version`` always answers its ``ETag`` (the document says so,
    ``routers.platform.contract``): a route that did not set it gets it from the body."""

    async def tagged(request: Request) -> Response:
        response = await handler(request)
        if 200 <= response.status_code < 300 and "etag" not in response.headers:
            body = getattr(response, "body", b"")
            document = from_json(bytes(body).decode()) if body[:1] == b"{" else None
            version = document.get("version") if isinstance(document, dict) else None
            if isinstance(version, int):
                response.headers["ETag"] = f'"{version}"'
        return response

    return tagged


def _authenticates(dependant: Dependant) -> bool:
    """Whether the route takes a bearer credential (every route but health and feeds)."""
    return any(
        isinstance(d.call, ScopedBearer) or _authenticates(d) for d in dependant.dependencies
    )


def _created_id(response: Response) -> str | None:
    """The ``id`` of a 201's JSON body (what a create made), if it has one."""
    body = getattr(response, "body", b"")
    if response.status_code != 201 or not body or not body.startswith(b"{"):
        return None
    try:
        document = from_json(bytes(body).decode())
    except ValueError:
        return None
    found = document.get("id") if isinstance(document, dict) else None
    return str(found) if found is not None else None


async def _answer_deleted(request: Request, response: Response) -> None:
    """A successful DELETE makes the ``Idempotency-Key`` whose POST created its path answer
    410 from then on, in the same transaction (``idempotency.answer_deleted``)."""
    auth: AuthContext | None = request.scope.get(AUTH_SCOPE_KEY)
    session = request.state.session
    if (
        request.method != "DELETE"
        or not 200 <= response.status_code < 300
        or auth is None
        or session.info.get(SEALED)  # no DELETE commits alone; if one did, skip
    ):
        return
    path = request.url.path
    body = problem_body(
        410,
        DELETED_SLUG,
        "Created resource deleted",
        f"what this Idempotency-Key created ({path}) has since been deleted; "
        "a new key creates anew",
        instance=path,
        request_id=None,
    )
    gone = idempotency.StoredResponse(410, {"content-type": MEDIA_TYPE}, to_json(body).encode())
    await idempotency.answer_deleted(session, auth.workspace_id, path, gone)


async def _guard(request: Request, session: Any) -> None:
    """Records named in the path must be seen by the request's viewer (record visibility:
    ``platform.visibility``); a path naming none costs nothing."""
    if not any(name in GUARDED for name in request.path_params):
        return
    auth = await authenticate(request)
    await guard_path(session, auth.workspace_id, request.path_params)


async def _run(
    request: Request,
    original: Callable[[Request], Coroutine[Any, Any, Response]],
    state: AppState,
    secrets: Set[str],
) -> Response:
    key = request.headers.get("idempotency-key")
    if request.method != "POST" or key is None:
        return await original(request)
    auth = await authenticate(request)
    session = request.state.session
    now = state.clock.now()
    fingerprint = idempotency.request_fingerprint(
        request.method, request.url.path, await request.body()
    )
    stored = await idempotency.begin(session, auth.workspace_id, key, fingerprint, at=now)
    if stored is not None:
        headers = {**stored.headers, REPLAYED_HEADER: "true"}
        return Response(content=stored.body, status_code=stored.status_code, headers=headers)
    response = await original(request)
    if 200 <= response.status_code < 300:
        kept = {k: v for k, v in response.headers.items() if k in _KEPT_HEADERS}
        stored_response = idempotency.StoredResponse(
            response.status_code, kept, bytes(response.body)
        )
        await idempotency.remember(
            session,
            auth.workspace_id,
            key,
            fingerprint,
            idempotency.redact(stored_response, secrets),
            at=now,
            ttl=timedelta(hours=state.settings.idempotency_ttl_hours),
        )
    return response
