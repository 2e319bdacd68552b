"""Webhook routes: endpoints (admin only: they receive every event), deliveries with their
attempts, and the OpenAPI description of every event payload.

``routers`` are the domain's routers in the order the app includes them (a literal path
before a sibling path parameter that would read it as an id).
"""

from fastapi import APIRouter

from app.routers.webhooks import deliveries, docs, endpoints
from app.routers.webhooks.event_schemas import add_event_schemas

routers: tuple[APIRouter, ...] = (endpoints.router, deliveries.router)
#: Included in ``app.webhooks``: it documents what Rapport sends and serves nothing.
event_docs: APIRouter = docs.router

__all__ = ["add_event_schemas", "event_docs", "routers"]
