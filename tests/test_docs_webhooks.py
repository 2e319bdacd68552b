"""docs/WEBHOOKS.md is what integrators copy from: its example must work, its list be whole."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import WebhookVerificationError

from app.models.platform.event_catalogue import CATALOGUE
from app.services.webhooks.endpoints import new_secret
from app.services.webhooks.sender import payload_bytes, signature_header

DOC = (Path(__file__).resolve().parent.parent / "docs" / "WEBHOOKS.md").read_text()


def _verification_example(secret: str) -> dict[str, Any]:
    [code] = [b for b in re.findall(r"```python\n(.*?)```", DOC, re.S) if "verify" in b]
    namespace: dict[str, Any] = {}
    exec(compile(code.replace("whsec_...", secret), "WEBHOOKS.md", "exec"), namespace)  # noqa: S102
    return namespace


def test_the_documented_verification_accepts_our_signature_and_refuses_a_forgery() -> None:
    secret = new_secret()
    handle = _verification_example(secret)["handle"]
    now = datetime.now(UTC)
    body = payload_bytes("touch.due", now, {"id": "t1"})
    headers = {
        "webhook-id": "evt_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature_header([secret], "evt_1", now, body),
    }
    assert handle(body, headers)["data"] == {"id": "t1"}
    with pytest.raises(WebhookVerificationError):
        handle(body.replace(b"t1", b"t2"), headers)


def test_every_event_type_is_in_the_documented_catalogue() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", DOC, re.M))
    assert documented == {event.name for event in CATALOGUE}
