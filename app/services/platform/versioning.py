"""Optimistic concurrency: a stale writer learns it lost instead of overwriting."""

from __future__ import annotations

from app.errors import PreconditionFailed


def check_version(current: int, expected: int | None) -> None:
    """``expected`` comes from the client's ``If-Match``; None means unconditional."""
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"the resource changed (version {current}, If-Match named {expected}); "
            "fetch it again and retry",
            extra={"current_version": current},
        )
