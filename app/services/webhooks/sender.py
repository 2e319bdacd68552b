"""One webhook attempt: build the signed request, send it to the vetted address, report.

The body is serialised once; those exact bytes are signed and sent, so a receiver that
verifies the raw body can never disagree with us about whitespace or key order. The
connection goes to the address the SSRF guard just approved (the URL is rebuilt with
that IP, with the original ``Host`` header and TLS server name), so a DNS answer that
changes between check and connect cannot redirect the request.

The client is aiohttp rather than httpx: against a local receiver httpx's connection
pool cost 2.1 ms of CPU per request at 32 in flight (scanning every pooled connection
for each request), aiohttp 0.1 ms (``benchmarks/bench_webhooks.py``).
"""

from __future__ import annotations

import logging
import math
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from standardwebhooks import Webhook
from yarl import URL

from app.json_codec import to_json
from app.models.webhooks.tables import RESPONSE_BODY_LIMIT
from app.services.platform import CheckedTarget

log = logging.getLogger("rapport.webhooks")
USER_AGENT = "Rapport-Webhooks/1.0"

_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class Outcome:
    """What one attempt produced; ``status_code`` is None when no response came back."""

    attempted_at: datetime
    status_code: int | None = None
    error: str | None = None
    latency_ms: int = 0
    body: str | None = None
    retry_after: float | None = None  # seconds the receiver asked us to wait

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def payload_bytes(
    event_type: str,
    occurred_at: datetime,
    data: dict[str, Any],
    actor: dict[str, Any] | None = None,
) -> bytes:
    """The Standard Webhooks body: ``type``, ``timestamp``, ``data``, and who made the
    change (``actor``: a member, an API key, or ``system``)."""
    timestamp = occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    body: dict[str, Any] = {"type": event_type, "timestamp": timestamp, "data": data}
    if actor is not None:
        body["actor"] = actor
    return to_json(body).encode()


def signature_header(secrets: list[str], msg_id: str, at: datetime, payload: bytes) -> str:
    """One ``v1,…`` signature per secret, space-separated (the rotation overlap)."""
    text = payload.decode()
    return " ".join(Webhook(s).sign(msg_id, at, text) for s in secrets)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def new_session(
    *, timeout_seconds: float, concurrency: int, ssl_context: ssl.SSLContext | None = None
) -> aiohttp.ClientSession:
    """The one HTTP client of a dispatcher: pinned IPs need no DNS, nothing is decoded.

    ``total`` bounds the whole attempt (connect, send, answer) by the configured
    timeout; the environment's proxies are ignored since they would bypass the pinning,
    and cookies are never kept between receivers. ``ssl_context`` is for tests that
    trust a local certificate authority; by default the system's trust store is used.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=concurrency, use_dns_cache=False, ssl=ssl_context or True
        ),
        timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        auto_decompress=False,  # the kept 2 KB of an answer stay as the receiver sent them
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("Accept-Encoding",),
    )


def _pinned(target: CheckedTarget) -> tuple[URL, str]:
    """The URL aimed at the vetted IP, and the Host header naming the original host."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    if target.port != _DEFAULT_PORTS[target.scheme]:
        host = f"{host}:{target.port}"
    return URL(target.url).with_host(target.addresses[0]), host


def _clean(text: str) -> str:
    return text.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL


async def send(
    session: aiohttp.ClientSession,
    target: CheckedTarget,
    *,
    msg_id: str,
    payload: bytes,
    secrets: list[str],
    at: datetime,
) -> Outcome:
    """POST once; never raises: network trouble, even a broken receiver, is an outcome."""
    url, host = _pinned(target)
    headers = {
        "Host": host,
        "Content-Type": "application/json",
        "Accept-Encoding": "identity",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(at.timestamp())),
        "webhook-signature": signature_header(secrets, msg_id, at, payload),
    }
    started = time.perf_counter()
    try:
        async with session.post(
            url,
            data=payload,
            headers=headers,
            allow_redirects=False,
            server_hostname=target.host if target.scheme == "https" else None,
        ) as response:
            kept = bytearray()
            async for chunk in response.content.iter_chunked(RESPONSE_BODY_LIMIT):
                kept += chunk
                if len(kept) >= RESPONSE_BODY_LIMIT:
                    break  # the rest is not read: aiohttp drops the connection instead
            status, retry_after = response.status, response.headers.get("Retry-After")
    except TimeoutError:
        return Outcome(at, error="timed out", latency_ms=_since(started))
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return Outcome(at, error=_error_text(exc), latency_ms=_since(started))
    except Exception as exc:  # a receiver must never break the dispatcher's round
        log.exception("unexpected error sending webhook %s", msg_id)
        return Outcome(at, error=_error_text(exc), latency_ms=_since(started))
    body = kept[:RESPONSE_BODY_LIMIT].decode("utf-8", errors="replace")
    return Outcome(
        at,
        status_code=status,
        latency_ms=_since(started),
        body=_clean(body),
        retry_after=parse_retry_after(retry_after, at),
    )


def _error_text(exc: BaseException) -> str:
    reason = str(exc) or type(exc).__name__
    return _clean(f"{type(exc).__name__}: {reason}")[:500]


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
