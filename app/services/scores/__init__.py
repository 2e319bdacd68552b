"""TODO"""

from app.services.scores.nightly import NightlyScoresJob

__all__ = ["NightlyScoresJob"]
