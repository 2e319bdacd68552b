"""Built-in member sessions: short-lived tokens an admin key mints for a member.

For firms without an identity provider, and for the demo: a back end holding an admin key
signs its user in by minting ``POST /v1/members/{id}/sessions`` and hands the token to the
browser, which calls Rapport as that member. The token is a JWT (HS256) signed with
``RAPPORT_SESSION_SIGNING_KEY``; in development a random key is generated once into the
data dir, so tokens survive a restart. Its issuer ``rapport`` tells it apart from an
identity provider's tokens.

Expiry is checked against the app's clock (PyJWT would use the wall clock), so tests can
move time; a token stops working exactly at the ``expires_at`` its mint answered (the
leeway only forgives an ``iat`` a little ahead, from a replica whose clock runs fast);
the signature, issuer and audience are PyJWT's.
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from app.config import Settings
from app.errors import Unauthenticated

ISSUER = "rapport"
AUDIENCE = "rapport:member"
ALGORITHM = "HS256"
KEY_FILE = "session_signing_key"


def signing_key(settings: Settings) -> bytes:
    """The configured key, or (outside production) one generated once into the data dir."""
    if settings.session_signing_key is not None:
        return settings.session_signing_key.get_secret_value().encode()
    if settings.environment == "production":  # Settings refuses this; keep it impossible
        raise RuntimeError("RAPPORT_SESSION_SIGNING_KEY is required in production")
    path = Path(settings.data_dir) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: two processes starting at once agree on one key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_urlsafe(48).encode())
    return path.read_bytes().strip()


@dataclass(frozen=True)
class SessionClaims:
    workspace_id: uuid.UUID
    member_id: uuid.UUID
    expires_at: datetime


class SessionTokens:
    def __init__(self, key: bytes, *, minutes: int, leeway: timedelta) -> None:
        self._key = key
        self.lifetime = timedelta(minutes=minutes)
        self.leeway = leeway

    def mint(
        self, workspace_id: uuid.UUID, member_id: uuid.UUID, *, at: datetime
    ) -> tuple[str, datetime]:
        expires = at + self.lifetime
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(member_id),
            "ws": str(workspace_id),
            "iat": int(at.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM), expires

    def verify(self, token: str, *, at: datetime) -> SessionClaims:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid session token: {exc}") from exc
        check_times(claims, at=at, leeway=self.leeway)
        try:
            verified = SessionClaims(
                workspace_id=uuid.UUID(str(claims["ws"])),
                member_id=uuid.UUID(str(claims["sub"])),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=at.tzinfo),
            )
        except (KeyError, ValueError) as exc:
            raise Unauthenticated("invalid session token: missing or malformed claims") from exc
        if verified.expires_at <= at:  # the minted `expires_at` is exact: no leeway past it
            raise Unauthenticated("session token has expired")
        return verified


def check_times(claims: dict[str, Any], *, at: datetime, leeway: timedelta) -> None:
    """``exp`` (required), ``nbf`` and ``iat`` against the app's clock, with ``leeway``
    for clocks a little apart."""
    now = at.timestamp()
    slack = leeway.total_seconds()
    try:
        exp = float(claims["exp"])
        nbf = float(claims.get("nbf", now))
        iat = float(claims.get("iat", now))
    except (KeyError, TypeError, ValueError) as exc:
        raise Unauthenticated("token has no valid 'exp', 'nbf' or 'iat'") from exc
    if exp <= now - slack:
        raise Unauthenticated("token has expired")
    if nbf > now + slack:
        raise Unauthenticated("token is not valid yet ('nbf')")
    if iat > now + slack:
        raise Unauthenticated("token was issued in the future ('iat')")


def session_tokens(settings: Settings) -> SessionTokens:
    """The app's session tokens, from its settings (the key, the lifetime, the leeway)."""
    return SessionTokens(
        signing_key(settings),
        minutes=settings.session_minutes,
        leeway=timedelta(seconds=settings.oidc_leeway_seconds),
    )
