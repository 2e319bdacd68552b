"""What every response gets on its way out to an integrator: CORS and rate-limit headers.

``Cors`` is Starlette's ``CORSMiddleware`` with two changes: the allowed origins are the
operator's (``RAPPORT_CORS_ORIGINS``) plus those some workspace lists (looked up and cached
by ``app.services.platform.OriginRegistry``), and a preflight it allows answers ``204 No
Content`` rather than Starlette's ``200 OK`` text. ``RateLimitHeaders`` writes the
``RateLimit-Policy`` and ``RateLimit`` fields of the request's rate limit decision (taken
where the credential is resolved, ``app.deps.authenticate``) on whatever the app answers:
a 200, a 404 or the 429 itself. Both are pure ASGI.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.deps import RATE_LIMIT_SCOPE_KEY
from app.services.platform import Decision, OriginRegistry
from app.state import AppState

#: What a browser may send and read (every header the API takes or answers with).
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
REQUEST_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "If-Match", "X-Request-ID")
EXPOSED_HEADERS = (
    "ETag",
    "Location",
    "X-Request-ID",
    "Idempotent-Replayed",
    "Idempotent-Redacted",
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
)


class Cors(CORSMiddleware):
    def __init__(self, app: ASGIApp, *, origins: tuple[str, ...], registry: OriginRegistry):
        super().__init__(
            app,
            allow_origins=origins,
            allow_methods=METHODS,
            allow_headers=REQUEST_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        )
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.allow_all_origins:
            origin = Headers(scope=scope).get("origin")
            if origin is not None and origin not in self.allow_origins:
                state: AppState = scope["app"].state.rapport
                await self.registry.look_up(state.db, origin)
        await super().__call__(scope, receive, send)

    def is_allowed_origin(self, origin: str) -> bool:
        return super().is_allowed_origin(origin) or self.registry.listed(origin)

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code != 200:
            return answer  # 400, without Access-Control-Allow-Origin for an unknown origin
        headers = {k: v for k, v in answer.headers.items() if k not in _BODY_HEADERS}
        return Response(status_code=204, headers=headers)


_BODY_HEADERS = frozenset({"content-length", "content-type"})


class RateLimitHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision: Decision | None = scope.get(RATE_LIMIT_SCOPE_KEY)
                if decision is not None:
                    headers: list[Any] = list(message.get("headers", []))
                    headers.append((b"ratelimit-policy", decision.policy_header.encode()))
                    headers.append((b"ratelimit", decision.header.encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, tagged)


def install(app: Any, state: AppState) -> None:
    """Outermost layers: CORS headers reach every answer, a 500 or a 413 included."""
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(Cors, origins=state.settings.allowed_origins, registry=state.origins)
