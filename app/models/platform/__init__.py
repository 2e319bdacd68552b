"""TODO"""

from app.models.platform import (
    api_key,
    base,
    common,
    event,
    event_catalogue,
    idempotency,
    member,
    money,
    workspace,
)

__all__ = [
    "api_key",
    "base",
    "common",
    "event",
    "event_catalogue",
    "idempotency",
    "member",
    "money",
    "workspace",
]
