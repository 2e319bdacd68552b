"""Touch tables and schemas: touch plans and their steps (with their timing rules),
enrolments, touches and calendar feed tokens. Public face: the names below.
"""

from app.models.touches.events import EVENT_DATA
from app.models.touches.tables import CalendarToken, Enrollment, Touch, TouchPlan, TouchPlanStep

__all__ = ["EVENT_DATA", "CalendarToken", "Enrollment", "Touch", "TouchPlan", "TouchPlanStep"]
