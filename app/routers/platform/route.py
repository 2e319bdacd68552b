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
from typing import Any, get_type_hints

from fastapi import Request, Response, params
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app.deps import app_state, authenticate
from app.errors import ValidationFailed
from app.json_codec import TooDeep, read_body
from app.models.platform.common import secret_fields
from app.services.platform import idempotency
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
        fastapi_handler = super().get_route_handler()
        original = lean_handler(self, fastapi_handler) or fastapi_handler
        secrets = secret_fields(self.response_model)

        async def handler(request: Request) -> Response:
            state = app_state(request)
            if request.method in READ_METHODS:
                # No transaction to open or end, no idempotency to check: see app.db.
                async with state.db.read_session() as reader:
                    request.state.session = reader
                    return await original(request)
            await _bounded_json(request, state.settings.max_body_bytes)
            session = state.db.sessionmaker()
            request.state.session = session
            began = False  # a session whose one write committed on its own holds nothing
            try:
                response = await _run(request, original, state, secrets)
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
