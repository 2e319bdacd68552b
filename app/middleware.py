"""Pure ASGI middleware: request ids, metrics, access logs, size limits and the 500 answer.

Written against ASGI directly (not ``BaseHTTPMiddleware``) so streaming bodies and
background tasks behave, and so the size limit can stop reading mid-stream.

A database that is unavailable (``app.outages``: down, refusing connections, not
answering within the timeout) is answered here too, wherever the request met it: 503
``service-unavailable`` with ``Retry-After``, and one warning per outage in the log.

Unexpected exceptions are answered here rather than by Starlette's
``ServerErrorMiddleware``: that one sits outside this middleware, so by the time it ran
the request id had been reset, its 500 carried ``request_id: null`` and no
``X-Request-ID`` header, and its log line had no id either.

This runs for every request, so it keeps its own costs down: generated request ids are
a random per-process prefix plus a counter (``uuid4()`` was a tenth of a GET's CPU under
wrk in py-spy), the metric series of a route are looked up once, not per request.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PayloadTooLarge
from app.metrics import IN_FLIGHT, LATENCY, REQUESTS
from app.outages import RETRY_AFTER_SECONDS, outages, unavailable_cause
from app.problems import (
    INTERNAL_DETAIL,
    INTERNAL_SLUG,
    INTERNAL_TITLE,
    MEDIA_TYPE,
    UNAVAILABLE_SLUG,
    UNAVAILABLE_TITLE,
    log_unexpected,
    problem_body,
    unavailable_detail,
)
from app.request_context import reset_request_id, set_request_id
from app.services.platform import request_principal

access_log = logging.getLogger("rapport.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class _RequestIds:
    """32 hex digits: 16 random per process, 16 counting. Unique across processes and
    restarts like ``uuid4().hex`` (a forked worker draws its own prefix), at a fraction
    of the cost; request ids only need to be unique, not unguessable."""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFFFFFF:016x}"


_ids = _RequestIds()
_series: dict[tuple[str, str, int], Any] = {}
_latency: dict[tuple[str, str], Any] = {}


def _observe(method: str, route: str, status: int, elapsed: float) -> None:
    """Count the request and its latency; each label set's child is looked up once."""
    counter = _series.get((method, route, status))
    if counter is None:
        counter = _series[(method, route, status)] = REQUESTS.labels(method, route, str(status))
    counter.inc()
    histogram = _latency.get((method, route))
    if histogram is None:
        histogram = _latency[(method, route)] = LATENCY.labels(method, route)
    histogram.observe(elapsed)


@dataclass
class _Exchange:
    """What the middleware learns about one request while the app answers it."""

    request_id: str
    path: str
    began: float  # time.perf_counter() when it arrived
    status: int = 500
    started: bool = False
    overflow: bool = False


def _nul_errors(path: str, query: bytes) -> list[dict[str, Any]]:
    """Where the URL's NUL bytes are: ``["path"]`` or ``["query", name]``, as a 422 names
    any other bad input."""
    errors: list[dict[str, Any]] = []
    if "\x00" in path:
        errors.append({"loc": ["path"], "msg": "NUL bytes are not allowed", "type": "value_error"})
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            loc = ["query", name.replace("\x00", "")]
            errors.append({"loc": loc, "msg": "NUL bytes are not allowed", "type": "value_error"})
    return errors or [{"loc": ["query"], "msg": "NUL bytes are not allowed", "type": "value_error"}]


_RETRY_AFTER = (b"retry-after", str(RETRY_AFTER_SECONDS).encode())


async def _send_problem(
    send: Send,
    exchange: _Exchange,
    status: int,
    slug: str,
    title: str,
    detail: str,
    *extra_headers: tuple[bytes, bytes],
    errors: list[dict[str, Any]] | None = None,
) -> None:
    problem = problem_body(
        status, slug, title, detail, instance=exchange.path, request_id=exchange.request_id
    )
    if errors is not None:
        problem["errors"] = errors
    body = json.dumps(problem).encode()
    exchange.status = status
    exchange.started = True
    request_id = exchange.request_id
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
                *extra_headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_import_bytes: int,
        import_paths: tuple[str, ...],
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_import_bytes = max_import_bytes
        self.import_paths = import_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else _ids.next()
        token = set_request_id(request_id)
        path: str = scope["path"]
        started = time.perf_counter()
        exchange = _Exchange(request_id=request_id, path=path, began=started)
        IN_FLIGHT.inc()
        try:
            if "\x00" in path or b"%00" in scope.get("query_string", b"").lower():
                await _send_problem(
                    send,
                    exchange,
                    422,
                    "validation-failed",
                    "Validation failed",
                    "NUL bytes are not allowed in the URL",
                    errors=_nul_errors(path, scope.get("query_string", b"")),
                )
                return
            limit = self.max_import_bytes if path in self.import_paths else self.max_body_bytes
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await _send_problem(
                    send,
                    exchange,
                    413,
                    "payload-too-large",
                    "Payload too large",
                    f"request body exceeds {limit} bytes",
                )
                return
            with request_principal():
                await self._answer(scope, receive, send, exchange, limit)
        finally:
            IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope.get("method", "")
            _observe(method, template, exchange.status, elapsed)
            access_log.info(
                "request",
                extra={
                    "method": method,
                    "path": path,
                    "route": template,
                    "status": exchange.status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            reset_request_id(token)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, exchange: _Exchange, limit: int
    ) -> None:
        """Run the app; an exception it lets escape becomes a problem+json 500 here.

        Once the response has started nothing can be sent in its place: the error is
        logged and re-raised so the server drops the connection.
        """
        try:
            await self.app(
                scope, _limited(receive, limit, exchange), _tagged(send, exchange, limit)
            )
        except Exception as exc:
            cause = unavailable_cause(exc)
            if cause is None:
                log_unexpected(exc, response_started=exchange.started)
            else:
                outages.failed(cause, where=exchange.path, began=exchange.began)
            if exchange.started:
                raise
            if cause is None:
                await _send_problem(
                    send, exchange, 500, INTERNAL_SLUG, INTERNAL_TITLE, INTERNAL_DETAIL
                )
            else:
                await _send_problem(
                    send,
                    exchange,
                    503,
                    UNAVAILABLE_SLUG,
                    UNAVAILABLE_TITLE,
                    unavailable_detail(cause),
                    _RETRY_AFTER,
                )


def _limited(receive: Receive, limit: int, exchange: _Exchange) -> Receive:
    """Stop reading a body without Content-Length once it passes the limit."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                exchange.overflow = True
                raise PayloadTooLarge(f"request body exceeds {limit} bytes")
        return message

    return wrapped


def _tagged(send: Send, exchange: _Exchange, limit: int) -> Send:
    """Add the request id; replace whatever the app answered to an oversized body by a 413."""

    async def wrapped(message: Message) -> None:
        if exchange.overflow:
            if not exchange.started:
                await _send_problem(
                    send,
                    exchange,
                    413,
                    "payload-too-large",
                    "Payload too large",
                    f"request body exceeds {limit} bytes",
                )
            return
        if message["type"] == "http.response.start":
            exchange.status = int(message["status"])
            exchange.started = True
            headers: list[Any] = list(message.get("headers", []))
            headers.append((b"x-request-id", exchange.request_id.encode()))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped
