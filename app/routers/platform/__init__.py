"""Platform routes: the workspace and its settings, members, API keys, the event feed,
health and metrics; and the plumbing every router uses (the transactional route class
with idempotency, ETags, pages, the routing screen).

``routers`` are the domain's routers in the order the app includes them (a literal path
before a sibling path parameter that would read it as an id).
"""

from fastapi import APIRouter

from app.routers.platform import api_keys, audit_log, events, health, me, members, workspace
from app.routers.platform.common import (
    api_router,
    as_is,
    json_response,
    page_of,
    page_response,
    set_etag,
)
from app.routers.platform.contract import ACCEPTED_AT, CREATED_AT, LOCATED
from app.routers.platform.contract import complete as complete_contract
from app.routers.platform.route import TransactionalRoute, checks_visibility
from app.routers.platform.route_prefixes import screen_routers

routers: tuple[APIRouter, ...] = (
    health.router,
    workspace.router,
    api_keys.router,
    members.router,
    me.router,
    events.router,
    audit_log.router,
)

__all__ = [
    "ACCEPTED_AT",
    "CREATED_AT",
    "LOCATED",
    "TransactionalRoute",
    "api_router",
    "as_is",
    "checks_visibility",
    "complete_contract",
    "json_response",
    "page_of",
    "page_response",
    "routers",
    "screen_routers",
    "set_etag",
]
