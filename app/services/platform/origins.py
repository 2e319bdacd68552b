"""Which browser origins some workspace allows (CORS), cached per origin for a few seconds.

A preflight carries no credential, so it cannot say which workspace it is for: an origin
passes CORS when the operator lists it (``RAPPORT_CORS_ORIGINS``) or any workspace does
(``PATCH /v1/workspace`` ``cors_origins``). That is safe because Rapport takes no ambient
credential (no cookies): CORS decides only which pages may *read* answers, while the
bearer credential a page sends decides what it may see and change.

An origin's answer is looked up once (a GIN index on ``workspaces.cors_origins``) and
kept ``ttl_seconds``; a change takes effect at once on the replica that made it
(``forget``) and within that time on the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import text

from app.db import Database

_LISTED = text(
    "SELECT EXISTS (SELECT 1 FROM workspaces WHERE cors_origins @> ARRAY[CAST(:origin AS varchar)])"
)


class OriginRegistry:
    def __init__(
        self,
        *,
        ttl_seconds: float = 5.0,
        maxsize: int = 10_000,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.maxsize = maxsize
        self.timer = timer
        self._known: dict[str, tuple[bool, float]] = {}

    def listed(self, origin: str) -> bool:
        """What the last look-up of ``origin`` found (False if never looked up)."""
        found = self._known.get(origin)
        return found is not None and found[0]

    async def look_up(self, db: Database, origin: str) -> bool:
        """Whether some workspace lists ``origin``: cached, else one indexed query."""
        now = self.timer()
        found = self._known.get(origin)
        if found is not None and found[1] > now:
            return found[0]
        async with db.read_session() as reader:
            listed = bool((await reader.execute(_LISTED, {"origin": origin})).scalar())
        if len(self._known) >= self.maxsize:
            self._known.clear()  # a flood of made-up origins costs a look-up each, no memory
        self._known[origin] = (listed, now + self.ttl_seconds)
        return listed

    def forget(self) -> None:
        """After a workspace's list changed (committed), on the replica that changed it."""
        self._known.clear()
