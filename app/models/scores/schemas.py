"""API schemas of relationship scores and advocacy stages (tables in ``app.models.scores.tables``).

A score answer explains itself: every component carries its weight, its target, the
weighted count it was computed from and the raw counts behind that, so a team leader can
see *why* a contact scores 41 and what would raise it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from app.models.contacts import AdvocacyStage
from app.models.platform import InputModel, OutputModel
from app.models.scores.tables import StageSource

ScoreOrder = Literal["score", "-score", "change", "-change"]


class ComponentRead(OutputModel):
    value: float = Field(description="0-100: 100 x (1 - exp(-weighted_count / target)).")
    weight: float = Field(description="The workspace's weight of this component.")
    contribution: float = Field(description="weight x value: its share of the score.")
    weighted_count: float = Field(
        description="Activities in the window, each counting 0.5 ** (age_days / half_life)."
    )
    target: float = Field(
        description="Weighted count of an evenly spread healthy cadence: scores 63 when met."
    )
    cadence_per_year: int = Field(description="The cadence the target stands for.")
    counts: dict[str, int] = Field(description="The activities counted, by kind.")


class ScoreComponents(OutputModel):
    communication: ComponentRead
    reciprocity: ComponentRead
    appreciation: ComponentRead


class ContactScoreRead(OutputModel):
    contact_id: uuid.UUID
    score: float = Field(description="0-100, the weighted sum of the three components.")
    components: ScoreComponents
    change: float = Field(description="score - previous_score (0 when there is none yet).")
    previous_score: float | None = Field(
        description="The score of the last computation at least 20 hours older."
    )
    previous_computed_at: datetime | None
    computed_at: datetime
    window_days: int
    half_life_days: float
    stored: bool = Field(
        description="False when no recompute has scored the contact yet and the score was "
        "computed for this answer only."
    )


class ScoreListItem(OutputModel):
    contact_id: uuid.UUID
    name: str
    segment: str
    advocacy_stage: AdvocacyStage
    score: float
    communication: float
    reciprocity: float
    appreciation: float
    change: float
    computed_at: datetime


class ScorePoint(OutputModel):
    computed_at: datetime
    score: float
    communication: float
    reciprocity: float
    appreciation: float


class RecomputeResult(OutputModel):
    """What one recompute did, for a workspace: lapses first, then stages, then scores."""

    lapsed: int = Field(description="Contacts newly lapsed (one `contact.lapsed` event each).")
    recovered: int = Field(description="Lapses ended: the contact is back within the threshold.")
    stages_changed: int = Field(description="Suggested stages applied (`contact.stage_changed`).")
    scored: int = Field(description="Contacts scored.")
    history_rows: int = Field(description="Score history points written.")
    computed_at: datetime
    duration_ms: int


class StageFacts(OutputModel):
    """The data a suggested stage is derived from."""

    referrals_12_months: int = Field(description="Referrals received from the contact.")
    referrals_ever: int
    engagements_12_months: int = Field(
        description="Inbound or two-way interactions and activities attended."
    )
    lapsed: bool
    core_advocate_referrals: int = Field(description="The workspace's core-advocate threshold.")


class AdvocacyRead(OutputModel):
    contact_id: uuid.UUID
    stage: AdvocacyStage = Field(description="The stage in effect.")
    manual: bool = Field(description="Set by a member: suggestions do not override it.")
    suggested_stage: AdvocacyStage = Field(description="What the rules suggest today.")
    reason: str = Field(description="The rule that gave the suggestion.")
    facts: StageFacts
    lapsed_at: datetime | None


class AdvocacySet(InputModel):
    stage: AdvocacyStage = Field(description="Set by hand; later suggestions no longer apply.")


class AdvocacyStageChangeRead(OutputModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    from_stage: AdvocacyStage | None
    to_stage: AdvocacyStage
    source: StageSource
    at: datetime


class LosingTouchItem(OutputModel):
    contact_id: uuid.UUID
    name: str
    segment: str
    advocacy_stage: AdvocacyStage
    owner_id: uuid.UUID | None
    last_engaged_at: datetime | None = Field(description="Null: never engaged.")
    days_since_engagement: int = Field(
        description="Days since the last engagement, or since creation when never engaged."
    )
    lapsed: bool
    lapsed_at: datetime | None
