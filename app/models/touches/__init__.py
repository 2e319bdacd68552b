"""TODO"""

from app.models.touches.tables import CalendarToken, Enrollment, Touch, TouchPlan, TouchPlanStep

__all__ = ["CalendarToken", "Enrollment", "Touch", "TouchPlan", "TouchPlanStep"]
