"""What the running app holds for its lifetime, in one typed object on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.clock import Clock
from app.config import Settings
from app.db import Database
from app.services.platform import CredentialResolver, OriginRegistry, RateLimiter, Readiness


@dataclass
class AppState:
    settings: Settings
    database: Database | None
    clock: Clock
    keys: CredentialResolver
    limiter: RateLimiter = field(default_factory=RateLimiter)
    origins: OriginRegistry = field(default_factory=OriginRegistry)
    background: list[Any] = field(default_factory=list)
    _readiness: Readiness | None = field(default=None, repr=False)

    @property
    def db(self) -> Database:
        if self.database is None:
            raise RuntimeError("DATABASE_URL is not set (use `rapport serve`)")
        return self.database

    @property
    def readiness(self) -> Readiness:
        """The process's readiness check (one in flight at a time, shared by probes)."""
        if self._readiness is None:
            self._readiness = Readiness(self.db)
        return self._readiness
