"""The route class every API route uses: one transaction and idempotency per request.

The request owns the transaction: a session is opened before the handler runs, committed
after the response is rendered (so a serialisation error rolls back too) and rolled back
on any error. Reads (GET, HEAD, OPTIONS) run on a read-only session without a
transaction (``Database.read_session``): they had nothing to commit, and the ``BEGIN``
and ``ROLLBACK`` around them were two of a read's three database round trips (four with
the pool's pre-ping). POSTs carrying ``Idempotency-Key`` are checked and remembered
inside the same transaction, so a stored response always describes a committed change.
Fields of the response model marked ``SECRET`` (app.models.common) are redacted in the
stored copy.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Set
from datetime import timedelta
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from app.models.common import secret_fields
from app.services import idempotency
from app.services.auth import AuthContext
from app.state import AppState

REPLAYED_HEADER = "Idempotent-Replayed"
_KEPT_HEADERS = ("content-type", "location", "etag")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.rapport
    return state


async def authenticate(request: Request) -> AuthContext:
    """Resolve the bearer key once per request; later callers reuse the result."""
    cached: AuthContext | None = getattr(request.state, "auth", None)
    if cached is not None:
        return cached
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    state = app_state(request)
    auth = await state.keys.resolve(
        request.state.session, token.strip() if scheme.lower() == "bearer" else None
    )
    request.state.auth = auth
    return auth


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()
        secrets = secret_fields(self.response_model)

        async def handler(request: Request) -> Response:
            state = app_state(request)
            if request.method in READ_METHODS:
                # No transaction to open or end, no idempotency to check: see app.db.
                async with state.db.read_session() as reader:
                    request.state.session = reader
                    return await original(request)
            async with state.db.sessionmaker() as session:
                request.state.session = session
                try:
                    response = await _run(request, original, state, secrets)
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise
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
