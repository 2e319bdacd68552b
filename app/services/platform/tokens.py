"""Secret tokens: API keys and other bearer secrets.

Tokens carry 256 bits from ``secrets`` and are stored only as SHA-256 digests. A fast
hash is right here (unlike passwords): the secret is random, so there is nothing to
guess, and verification sits on every request's path.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid

API_KEY_PREFIX = "rk_live_"
_API_KEY_RE = re.compile(r"^rk_live_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_key(workspace_id: uuid.UUID) -> str:
    """``rk_live_<workspace hex>_<secret>``: the workspace part routes the lookup."""
    return f"{API_KEY_PREFIX}{workspace_id.hex}_{secrets.token_urlsafe(32)}"


def parse_api_key(token: str) -> uuid.UUID | None:
    """The workspace a well-formed key claims, or None for anything malformed."""
    match = _API_KEY_RE.match(token)
    return uuid.UUID(match.group(1)) if match else None


def display_prefix(token: str) -> str:
    return token[: len(API_KEY_PREFIX) + 8]
