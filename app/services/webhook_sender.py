"""One webhook attempt: build the signed request, send it to the vetted address, report.

The body is serialised once; those exact bytes are signed and sent, so a receiver that
verifies the raw body can never disagree with us about whitespace or key order. The
connection goes to the address the SSRF guard just approved (the URL is rebuilt with
that IP, with the original ``Host`` header and TLS server name), so a DNS answer that
changes between check and connect cannot redirect the request.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
from standardwebhooks import Webhook

from app.models.webhook import RESPONSE_BODY_LIMIT
from app.services.ssrf import CheckedTarget

USER_AGENT = "Rapport-Webhooks/1.0"

# httpcore tries ``import sniffio`` (optional, not installed here) on every request, and
# each failed import walks sys.path again: measured at a fifth of a delivery's CPU time.
# Remembering the miss makes later imports fail at once; httpcore then assumes asyncio,
# exactly as before.
if importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]
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


def payload_bytes(event_type: str, occurred_at: datetime, data: dict[str, Any]) -> bytes:
    timestamp = occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return orjson.dumps({"type": event_type, "timestamp": timestamp, "data": data})


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


def _pinned(target: CheckedTarget) -> tuple[httpx.URL, str]:
    """The URL aimed at the vetted IP, and the Host header naming the original host."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    if target.port != _DEFAULT_PORTS[target.scheme]:
        host = f"{host}:{target.port}"
    return httpx.URL(target.url).copy_with(host=target.addresses[0]), host


def _clean(text: str) -> str:
    return text.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL


async def send(
    client: httpx.AsyncClient,
    target: CheckedTarget,
    *,
    msg_id: str,
    payload: bytes,
    secrets: list[str],
    at: datetime,
) -> Outcome:
    """POST once; never raises for network trouble, which is an outcome like any other."""
    url, host = _pinned(target)
    headers = {
        "host": host,
        "content-type": "application/json",
        "accept-encoding": "identity",  # the kept 2 KB of the answer stay readable
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(at.timestamp())),
        "webhook-signature": signature_header(secrets, msg_id, at, payload),
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    started = time.perf_counter()
    try:
        request = client.build_request(
            "POST", url, content=payload, headers=headers, extensions=extensions
        )
        response = await client.send(request, stream=True)
        try:
            kept = bytearray()
            async for chunk in response.aiter_raw():
                kept += chunk
                if len(kept) >= RESPONSE_BODY_LIMIT:
                    break
        finally:
            await response.aclose()
    except httpx.TimeoutException:
        return Outcome(at, error="timed out", latency_ms=_since(started))
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        return Outcome(
            at, error=_clean(f"{type(exc).__name__}: {reason}")[:500], latency_ms=_since(started)
        )
    body = kept[:RESPONSE_BODY_LIMIT].decode("utf-8", errors="replace")
    return Outcome(
        at,
        status_code=response.status_code,
        latency_ms=_since(started),
        body=_clean(body),
        retry_after=parse_retry_after(response.headers.get("retry-after"), at),
    )


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
