"""Touch routes: touch plans, enrolments, touches and tasks with their outcomes, and the
members' calendar feeds.

``routers`` are the domain's routers in the order the app includes them (a literal path
before a sibling path parameter that would read it as an id).
"""

from fastapi import APIRouter

from app.routers.touches import calendar, enrollments, outreach, plans

routers: tuple[APIRouter, ...] = (
    plans.router,
    enrollments.router,
    outreach.router,
    calendar.router,
)

__all__ = ["routers"]
