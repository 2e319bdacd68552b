"""What the running app holds for its lifetime, in one typed object on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.clock import Clock
from app.config import Settings
from app.db import Database
from app.services.platform import CredentialResolver, OriginRegistry, RateLimiter


@dataclass
class AppState:
    settings: Settings
    database: Database | None
    clock: Clock
    keys: CredentialResolver
    limiter: RateLimiter = field(default_factory=RateLimiter)
    origins: OriginRegistry = field(default_factory=OriginRegistry)
    background: list[Any] = field(default_factory=list)

    @property
    def db(self) -> Database:
        if self.database is None:
            raise RuntimeError("DATABASE_URL is not set (use `rapport serve`)")
        return self.database
