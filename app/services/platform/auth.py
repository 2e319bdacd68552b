"""Resolving an API key to the workspace and scopes it grants.

A bounded in-process cache answers repeated keys without a database round trip. Its
entries live at most ``api_key_cache_seconds`` (5 s by default), which is the promise
made about revocation: a revoked key stops working within that time on every replica,
and at once on the replica that revoked it (``forget_key`` after the commit).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db import Database
from app.errors import Forbidden, Unauthenticated
from app.models.platform.api_key import ApiKey
from app.services.platform.tokens import digest, parse_api_key


@dataclass(frozen=True)
class AuthContext:
    workspace_id: uuid.UUID
    key_id: uuid.UUID
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        """``admin`` includes every scope; ``read`` and ``write`` are independent."""
        if scope not in self.scopes and "admin" not in self.scopes:
            raise Forbidden(f"this API key lacks the '{scope}' scope")


class KeyResolver:
    def __init__(
        self,
        *,
        ttl_seconds: float,
        maxsize: int = 10_000,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cache: TTLCache[str, AuthContext | None] | None = (
            TTLCache(maxsize=maxsize, ttl=ttl_seconds, timer=timer) if ttl_seconds > 0 else None
        )

    def forget(self) -> None:
        if self._cache is not None:
            self._cache.clear()

    def forget_key(self, key_id: uuid.UUID) -> None:
        """Drop a key's cached answer, so this replica refuses it from the next request.

        Call it once the revocation has committed: before, a request could reload the key
        from the database while it is still valid there and cache it again.
        """
        if self._cache is None:
            return
        for hashed, context in list(self._cache.items()):
            if context is not None and context.key_id == key_id:
                self._cache.pop(hashed, None)

    async def resolve(self, db: Database, token: str | None) -> AuthContext:
        """The key's workspace and scopes, or ``Unauthenticated``.

        Looked up on a read session of its own, not the request's: a write request's
        session then holds no transaction until its own first statement, so a create
        that is one statement can commit alone (``app.driver.fetch_sole_write``).
        """
        if not token:
            raise Unauthenticated("missing API key: send 'Authorization: Bearer <key>'")
        workspace_id = parse_api_key(token)
        if workspace_id is None:
            raise Unauthenticated("malformed API key")
        hashed = digest(token)
        if self._cache is not None and hashed in self._cache:
            cached = self._cache[hashed]
        else:
            async with db.read_session() as reader:
                cached = await self._load(reader, workspace_id, hashed)
            if self._cache is not None:
                self._cache[hashed] = cached
        if cached is None:
            raise Unauthenticated("unknown or revoked API key")
        return cached

    @staticmethod
    async def _load(
        session: AsyncSession, workspace_id: uuid.UUID, hashed: str
    ) -> AuthContext | None:
        row = (
            await session.execute(
                select(col(ApiKey.id), col(ApiKey.scopes)).where(
                    col(ApiKey.workspace_id) == workspace_id,
                    col(ApiKey.secret_hash) == hashed,
                    col(ApiKey.revoked_at).is_(None),
                )
            )
        ).first()
        if row is None:
            return None
        return AuthContext(workspace_id=workspace_id, key_id=row.id, scopes=frozenset(row.scopes))
