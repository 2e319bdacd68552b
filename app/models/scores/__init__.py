"""TODO"""

from app.models.scores.tables import (
    ContactScore,
    ContactScoreHistory,
    ContactStageHistory,
    ScoreParamSet,
    ScoreRun,
)

__all__ = [
    "ContactScore",
    "ContactScoreHistory",
    "ContactStageHistory",
    "ScoreParamSet",
    "ScoreRun",
]
