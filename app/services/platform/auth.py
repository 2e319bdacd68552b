"""Resolving a bearer credential to the workspace, scopes, actor and viewer it grants.

Three credentials are accepted in ``Authorization: Bearer``:

* an API key (``rk_live_…``): the workspace's; bound to a member it acts as that member,
  its scopes cut to the member's role;
* a built-in member session token (``app.services.platform.sessions``);
* a token of the workspace's OpenID Connect provider (``app.services.platform.oidc``): the
  workspace is the one that registered the token's issuer and audience, the member the one
  whose e-mail address the configured claim names (created as an ``agent`` when the
  workspace says so).

A removed or deactivated member's credentials are refused. A bounded in-process cache
answers repeated credentials without a database round trip; its entries live at most
``api_key_cache_seconds`` (5 s by default, and never past a token's expiry), which is the
promise made about revocation, deactivation and role changes: they take effect within
that time on every replica, and at once on the replica that made them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cachetools import TTLCache
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import Database
from app.errors import Unauthenticated
from app.services.platform.audit import record_change
from app.services.platform.oidc import IdentityProviders
from app.services.platform.principals import (
    EVERYTHING,
    ROLE_SCOPES,
    Actor,
    AuthContext,
    acting_as,
    viewer_for,
)
from app.services.platform.sessions import ISSUER as SESSION_ISSUER
from app.services.platform.sessions import SessionTokens, session_tokens
from app.services.platform.tokens import API_KEY_PREFIX, digest, parse_api_key

_ASSISTS = (
    "ARRAY(SELECT a.agent_id FROM member_assists AS a "
    "WHERE a.workspace_id = m.workspace_id AND a.assistant_id = m.id ORDER BY a.agent_id)"
)
_KEY = text(
    f"""
    SELECT k.id, k.name, k.scopes, k.member_id, m.name AS member_name, m.role, m.active,
           w.visibility, {_ASSISTS} AS assists,
           COALESCE(k.rate_limit_per_minute, w.rate_limit_per_minute) AS per_minute,
           CASE WHEN k.rate_limit_per_minute IS NOT NULL THEN k.rate_limit_burst
                ELSE w.rate_limit_burst END AS burst
      FROM api_keys AS k
      JOIN workspaces AS w ON w.id = k.workspace_id
      LEFT JOIN members AS m ON m.workspace_id = k.workspace_id AND m.id = k.member_id
     WHERE k.workspace_id = :ws AND k.secret_hash = :hashed AND k.revoked_at IS NULL
    """
)
_MEMBER = f"""
    SELECT m.id, m.name, m.role, m.active, w.visibility, {_ASSISTS} AS assists,
           w.rate_limit_per_minute AS per_minute, w.rate_limit_burst AS burst
      FROM members AS m JOIN workspaces AS w ON w.id = m.workspace_id
     WHERE m.workspace_id = :ws AND {{where}}
    """
_MEMBER_BY_ID = text(_MEMBER.format(where="m.id = :member"))
_MEMBER_BY_EMAIL = text(_MEMBER.format(where="lower(m.email) = lower(:email)"))
_PROVIDER = text(
    """
    SELECT id, idp_audience, idp_member_claim, idp_unknown_members
      FROM workspaces
     WHERE idp_issuer = :issuer AND idp_audience = ANY(CAST(:audiences AS text[]))
    """
)
_CREATE_MEMBER = text(
    """
    INSERT INTO members (workspace_id, id, name, email, role, active, version, created_at,
                         updated_at)
    VALUES (:ws, gen_random_uuid(), :name, :email, 'agent', true, 1, :at, :at)
    ON CONFLICT DO NOTHING
    RETURNING id
    """
)


def member_context(
    workspace_id: uuid.UUID, row: Any, *, key_id: uuid.UUID | None = None
) -> AuthContext | None:
    """A member's context from a row of ``_MEMBER`` (or ``_KEY``); ``None`` if inactive."""
    if row is None or not row.active:
        return None
    member_id: uuid.UUID = row.member_id if key_id is not None else row.id
    name: str = row.member_name if key_id is not None else row.name
    viewer = viewer_for(row.role, row.visibility, (member_id, *row.assists))
    scopes = ROLE_SCOPES.get(row.role, frozenset())
    if key_id is not None:  # a bound key: its scopes within the role (admin includes all)
        granted = frozenset(row.scopes)
        if "admin" in granted:
            granted |= ROLE_SCOPES["admin"]
        scopes = scopes & granted
    return AuthContext(
        workspace_id=workspace_id,
        key_id=key_id,
        scopes=scopes,
        member_id=member_id,
        role=row.role,
        actor=Actor(type="member", id=member_id, name=name),
        viewer=viewer,
        rate_limit=_rate_limit(row),
    )


def _rate_limit(row: Any) -> tuple[int, int] | None:
    if row.per_minute is None:
        return None
    return (row.per_minute, row.burst or row.per_minute)


class CredentialResolver:
    def __init__(
        self,
        *,
        ttl_seconds: float,
        sessions: SessionTokens | None = None,
        providers: IdentityProviders | None = None,
        leeway: timedelta = timedelta(seconds=60),
        maxsize: int = 10_000,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.providers = providers
        self.leeway = leeway
        self._cache: TTLCache[str, tuple[AuthContext | None, float]] | None = (
            TTLCache(maxsize=maxsize, ttl=ttl_seconds, timer=timer) if ttl_seconds > 0 else None
        )

    def forget(self) -> None:
        if self._cache is not None:
            self._cache.clear()

    async def close(self) -> None:
        if self.providers is not None:
            await self.providers.close()

    def forget_key(self, key_id: uuid.UUID) -> None:
        """Drop a key's cached answer, so this replica refuses it from the next request.

        Call it once the revocation has committed: before, a request could reload the key
        from the database while it is still valid there and cache it again.
        """
        self._forget(lambda c: c.key_id == key_id)

    def forget_workspace(self, workspace_id: uuid.UUID) -> None:
        """After a workspace's settings changed (committed): visibility, rate limit."""
        self._forget(lambda c: c.workspace_id == workspace_id)

    def forget_member(self, member_id: uuid.UUID) -> None:
        """After a member's role, activity or assistance changed (committed)."""
        self._forget(lambda c: c.member_id == member_id)

    def _forget(self, matches: Callable[[AuthContext], bool]) -> None:
        if self._cache is None:
            return
        for hashed, (context, _expiry) in list(self._cache.items()):
            if context is not None and matches(context):
                self._cache.pop(hashed, None)

    async def resolve(
        self, db: Database, token: str | None, *, at: datetime | None = None
    ) -> AuthContext:
        """The credential's context, or ``Unauthenticated``.

        Looked up on a read session of its own, not the request's: a write request's
        session then holds no transaction until its own first statement, so a create
        that is one statement can commit alone (``app.driver.fetch_sole_write``).
        """
        if not token:
            raise Unauthenticated(
                "missing credentials: send 'Authorization: Bearer <API key or member token>'"
            )
        at = at or datetime.now(UTC)  # the request passes its clock's time
        hashed = digest(token)
        now = at.timestamp()
        if self._cache is not None and hashed in self._cache:
            context, expiry = self._cache[hashed]
            if expiry > now:
                return _known(context, token)

        if token.startswith(API_KEY_PREFIX):
            context, expiry = await self._api_key(db, token, hashed), float("inf")
        else:
            context, expiry = await self._member_token(db, token, at)
        if self._cache is not None:
            self._cache[hashed] = (context, expiry)
        return _known(context, token)

    async def _api_key(self, db: Database, token: str, hashed: str) -> AuthContext | None:
        workspace_id = parse_api_key(token)
        if workspace_id is None:
            raise Unauthenticated("malformed API key")
        async with db.read_session() as reader:
            row = (await reader.execute(_KEY, {"ws": workspace_id, "hashed": hashed})).first()
        if row is None:
            return None
        if row.member_id is not None:
            return member_context(workspace_id, row, key_id=row.id)
        return AuthContext(
            workspace_id=workspace_id,
            key_id=row.id,
            scopes=frozenset(row.scopes),
            actor=Actor(type="api_key", id=row.id, name=row.name),
            viewer=EVERYTHING,
            rate_limit=_rate_limit(row),
        )

    async def _member_token(
        self, db: Database, token: str, at: datetime
    ) -> tuple[AuthContext | None, float]:
        try:
            unverified: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Unauthenticated(
                "the bearer credential is neither an API key nor a token"
            ) from exc
        issuer = unverified.get("iss")
        if issuer == SESSION_ISSUER:
            if self.sessions is None:
                raise Unauthenticated("member sessions are not enabled here")
            claims = self.sessions.verify(token, at=at)
            async with db.read_session() as reader:
                by_id = {"ws": claims.workspace_id, "member": claims.member_id}
                row = (await reader.execute(_MEMBER_BY_ID, by_id)).first()
            return member_context(claims.workspace_id, row), claims.expires_at.timestamp()
        if not isinstance(issuer, str):
            raise Unauthenticated("the token names no issuer")
        audiences = unverified.get("aud")
        audiences = [audiences] if isinstance(audiences, str) else audiences
        if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
            raise Unauthenticated("the token names no audience")
        async with db.read_session() as reader:
            wanted = {"issuer": issuer, "audiences": audiences}
            provider = (await reader.execute(_PROVIDER, wanted)).first()
        if provider is None:
            raise Unauthenticated("no workspace accepts tokens of this issuer and audience")
        if self.providers is None:
            raise Unauthenticated("identity providers are not enabled here")
        verified = await self.providers.verify(
            token, issuer=issuer, audience=provider.idp_audience, at=at, leeway=self.leeway
        )
        who = verified.get(provider.idp_member_claim)
        if not isinstance(who, str) or not who:
            raise Unauthenticated(f"the token has no '{provider.idp_member_claim}' claim")
        if provider.idp_member_claim == "email" and verified.get("email_verified") is False:
            # A provider letting people type any address must not let them be an admin.
            raise Unauthenticated("the identity provider has not verified this e-mail address")
        row = await self._member_by_email(db, provider, who, verified, at)
        return member_context(provider.id, row), float(verified["exp"])

    @staticmethod
    async def _member_by_email(
        db: Database, provider: Any, email: str, claims: dict[str, Any], at: datetime
    ) -> Any:
        async with db.read_session() as reader:
            params = {"ws": provider.id, "email": email}
            row = (await reader.execute(_MEMBER_BY_EMAIL, params)).first()
        if row is not None or provider.idp_unknown_members != "create":
            return row
        name = claims.get("name") if isinstance(claims.get("name"), str) else email
        async with db.transaction() as session:
            await _create_member(session, provider.id, str(name)[:200], email[:320], at)
            return (await session.execute(_MEMBER_BY_EMAIL, params)).first()


#: Who adds a member on their first sign-in: Rapport, on the identity provider's word.
SIGN_IN = Actor(type="system", id=None, name="identity provider sign-in")


def _known(context: AuthContext | None, token: str) -> AuthContext:
    if context is not None:
        return context
    if token.startswith(API_KEY_PREFIX):
        raise Unauthenticated("unknown or revoked API key")
    raise Unauthenticated("the token's member is unknown to this workspace, removed or inactive")


async def _create_member(
    session: AsyncSession, workspace_id: uuid.UUID, name: str, email: str, at: datetime
) -> None:
    """A person the identity provider vouches for joins as an ``agent`` (two first
    sign-ins at once make one member: the e-mail address is unique per workspace)."""
    params = {"ws": workspace_id, "name": name, "email": email, "at": at}
    created = (await session.execute(_CREATE_MEMBER, params)).scalar_one_or_none()
    if created is not None:
        with acting_as(SIGN_IN):
            await record_change(
                session,
                workspace_id,
                action="member.created",
                resource_type="member",
                resource_id=created,
                changes={
                    "email": {"before": None, "after": email},
                    "role": {"before": None, "after": "agent"},
                },
                at=at,
            )


def credential_resolver(settings: Settings) -> CredentialResolver:
    """The resolver an app builds from its settings: sessions signed with the configured
    key (or the data dir's development key), providers behind the SSRF guard."""
    leeway = timedelta(seconds=settings.oidc_leeway_seconds)
    return CredentialResolver(
        ttl_seconds=settings.api_key_cache_seconds,
        sessions=session_tokens(settings),
        providers=IdentityProviders(
            allow_private=settings.oidc_allow_private_networks,
            allow_http=settings.oidc_allow_http,
            trusted_issuers=settings.trusted_issuers,
            timeout_seconds=settings.oidc_timeout_seconds,
        ),
        leeway=leeway,
    )
