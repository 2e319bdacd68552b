"""Contact routes: the people and businesses of the inner circle, their log, observances,
relationships, service records and engagement activities, and bulk import and export.

``routers`` are the domain's routers in the order the app includes them (a literal path
before a sibling path parameter that would read it as an id).
"""

from fastapi import APIRouter

from app.routers.contacts import (
    engagement,
    interactions,
    observances,
    people,
    relationships,
    service_records,
    shares,
    transfer,
)

routers: tuple[APIRouter, ...] = (
    transfer.router,
    people.router,
    observances.router,
    interactions.router,
    relationships.router,
    service_records.router,
    engagement.router,
    shares.router,
)

__all__ = ["routers"]
