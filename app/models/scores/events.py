"""What the scores domain's events carry as ``data`` (built through these models)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.models.contacts import AdvocacyStage, Segment
from app.models.platform import OutputModel
from app.models.scores.agenda import AgendaReadyData


class ContactLapsedData(OutputModel):
    id: uuid.UUID
    first_name: str | None
    last_name: str | None
    company_name: str | None
    segment: Segment
    primary_email: str | None
    last_engaged_at: datetime | None = Field(description="The last engagement before the lapse.")
    lapse_threshold_days: int


class StageChangedData(OutputModel):
    id: uuid.UUID = Field(description="The contact.")
    from_stage: AdvocacyStage | None
    to_stage: AdvocacyStage
    source: Literal["suggested", "manual"]


EVENT_DATA: dict[str, type[BaseModel]] = {
    "agenda.ready": AgendaReadyData,
    "contact.lapsed": ContactLapsedData,
    "contact.stage_changed": StageChangedData,
}
