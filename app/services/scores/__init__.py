"""Scores: relationship strength (computed set-based in SQL), suggested and manual advocacy
stages, lapses, the nightly job that runs them per workspace, and each member's agenda
ranked by value with its morning ``agenda.ready`` job and its entries in the members'
calendar feeds. Public face: the names below; imports platform, analytics and touches (to
add the agenda to the calendar feed).
"""

from app.services.scores import agenda_calendar as _agenda_calendar  # noqa: F401 (registers)
from app.services.scores.agenda_digest import agenda_ready_job
from app.services.scores.nightly import NightlyScoresJob

__all__ = ["NightlyScoresJob", "agenda_ready_job"]
