"""Pure ASGI middleware: request ids, metrics, access logs and request-size limits.

Written against ASGI directly (not ``BaseHTTPMiddleware``) so streaming bodies and
background tasks behave, and so the size limit can stop reading mid-stream.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PayloadTooLarge
from app.metrics import IN_FLIGHT, LATENCY, REQUESTS
from app.request_context import reset_request_id, set_request_id

access_log = logging.getLogger("rapport.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
PROBLEM = "application/problem+json"


async def _send_problem(send: Send, status: int, title: str, detail: str, request_id: str) -> None:
    body = json.dumps(
        {
            "type": f"https://rapport.dev/problems/{title.lower().replace(' ', '-')}",
            "title": title,
            "status": status,
            "detail": detail,
            "request_id": request_id,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
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
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = set_request_id(request_id)
        started = time.perf_counter()
        status_holder: dict[str, int] = {"status": 500}
        IN_FLIGHT.inc()
        try:
            path: str = scope["path"]
            if "\x00" in path or b"%00" in scope.get("query_string", b"").lower():
                await _send_problem(
                    send,
                    422,
                    "Validation failed",
                    "NUL bytes are not allowed in the URL",
                    request_id,
                )
                status_holder["status"] = 422
                return
            limit = self.max_import_bytes if path in self.import_paths else self.max_body_bytes
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await _send_problem(
                    send,
                    413,
                    "Payload too large",
                    f"request body exceeds {limit} bytes",
                    request_id,
                )
                status_holder["status"] = 413
                return
            overflow = {"hit": False}
            await self.app(
                scope,
                _limited(receive, limit, overflow),
                _tagged(send, request_id, status_holder, overflow, limit),
            )
        finally:
            IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope.get("method", "")
            REQUESTS.labels(method, template, str(status_holder["status"])).inc()
            LATENCY.labels(method, template).observe(elapsed)
            access_log.info(
                "request",
                extra={
                    "method": method,
                    "path": scope.get("path"),
                    "route": template,
                    "status": status_holder["status"],
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            reset_request_id(token)


def _limited(receive: Receive, limit: int, overflow: dict[str, bool]) -> Receive:
    """Stop reading a body without Content-Length once it passes the limit."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                overflow["hit"] = True
                raise PayloadTooLarge(f"request body exceeds {limit} bytes")
        return message

    return wrapped


def _tagged(
    send: Send, request_id: str, holder: dict[str, int], overflow: dict[str, bool], limit: int
) -> Send:
    """Add the request id; replace whatever the app answered to an oversized body by a 413."""
    replaced = False

    async def wrapped(message: Message) -> None:
        nonlocal replaced
        if overflow["hit"]:
            if not replaced:
                replaced = True
                holder["status"] = 413
                await _send_problem(
                    send,
                    413,
                    "Payload too large",
                    f"request body exceeds {limit} bytes",
                    request_id,
                )
            return
        if message["type"] == "http.response.start":
            holder["status"] = int(message["status"])
            headers: list[Any] = list(message.get("headers", []))
            headers.append((b"x-request-id", request_id.encode()))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped
