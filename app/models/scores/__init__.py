"""Score tables and schemas: each contact's relationship strength and its history, advocacy
stage history, scoring runs and parameter sets. Public face: the names below.
"""

from app.models.scores.agenda import AgendaDecision, AgendaDigest
from app.models.scores.events import EVENT_DATA
from app.models.scores.tables import (
    ContactScore,
    ContactScoreHistory,
    ContactStageHistory,
    ScoreParamSet,
    ScoreRun,
)

__all__ = [
    "EVENT_DATA",
    "AgendaDecision",
    "AgendaDigest",
    "ContactScore",
    "ContactScoreHistory",
    "ContactStageHistory",
    "ScoreParamSet",
    "ScoreRun",
]
