"""Analytics routes: settings, referral value and ROI, the funnel and lead-source mix, team
performance, allied resources, the satisfaction model, engagement and advocacy.

``routers`` are the domain's routers in the order the app includes them (a literal path
before a sibling path parameter that would read it as an id).
"""

from fastapi import APIRouter

from app.routers.analytics import money, people

routers: tuple[APIRouter, ...] = (
    money.router,
    people.router,
)

__all__ = ["routers"]
