"""Score routes: relationship strength per contact, ranked lists and movers, advocacy
stages and the contacts losing touch, and each member's agenda.

``routers`` are the domain's routers in the order the app includes them (a literal path
before a sibling path parameter that would read it as an id).
"""

from fastapi import APIRouter

from app.routers.scores import advocacy, agenda, strength

routers: tuple[APIRouter, ...] = (
    strength.router,
    advocacy.router,
    agenda.router,
)

__all__ = ["routers"]
