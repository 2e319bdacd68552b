"""Scores: relationship strength (computed set-based in SQL), suggested and manual advocacy
stages, lapses, and the nightly job that runs them per workspace. Public face: the names
below; imports platform and analytics.
"""

from app.services.scores.nightly import NightlyScoresJob

__all__ = ["NightlyScoresJob"]
