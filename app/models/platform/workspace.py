"""The workspace: one firm or team, the tenant every other row belongs to."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from sqlalchemy import Double, Index, String, text
from sqlalchemy.dialects.postgresql import ARRAY

from app.models.platform.base import (
    TableModel,
    column,
    created_at_column,
)
from app.models.platform.common import InputModel, OutputModel
from app.models.platform.origins import MAX_ORIGINS, Origin
from app.models.platform.rate_limit import RateLimit, RateLimitRead, rate_limit_of

DEFAULT_WEIGHTS = (0.4, 0.35, 0.25)
DEFAULT_OUTCOME_GRACE_DAYS = 14


def check_time_zone(value: str) -> str:
    """Only IANA names are accepted: abbreviations like ``EST`` hide DST rules."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    if "/" not in value and value != "UTC":
        raise ValueError(f"use an IANA zone name like 'Europe/Berlin', not {value!r}")
    return value


TimeZoneName = Annotated[str, Field(max_length=64), AfterValidator(check_time_zone)]
ThankYouChannel = Literal["email", "sms", "call", "mail", "card", "gift", "event_invite", "meeting"]
ThankYouMode = Literal["automated", "manual"]
Visibility = Literal["team", "own"]
UnknownMembers = Literal["refuse", "create"]


class Workspace(TableModel, table=True):
    __tablename__ = "workspaces"
    __table_args__ = (
        # One workspace per identity provider client: a member token names its workspace
        # by its issuer and audience.
        # CORS: which workspaces list an origin (app.services.platform.origins).
        Index("ix_workspaces_cors_origins", "cors_origins", postgresql_using="gin"),
        Index(
            "uq_workspaces_idp_issuer_idp_audience",
            "idp_issuer",
            "idp_audience",
            unique=True,
            postgresql_where=text("idp_issuer IS NOT NULL"),
        ),
    )

    id: uuid.UUID = column(primary_key=True, default_factory=uuid.uuid4)
    name: str = column(String(200))
    time_zone: str = column(String(64), default="UTC")
    send_window_start: time = time(9, 0)
    send_window_end: time = time(20, 0)
    lapse_threshold_days: int = 90
    referral_follow_up_hours: int = 24
    referral_thank_you_channel: str = column(String(16), default="email", server_default="email")
    referral_thank_you_mode: str = column(String(16), default="manual", server_default="manual")
    # Signs touches of contacts without an owner; cleared when the member is deleted.
    default_sender_member_id: uuid.UUID | None = None
    outcome_grace_days: int = column(default=DEFAULT_OUTCOME_GRACE_DAYS, server_default="14")
    weight_communication: float = column(Double, default=DEFAULT_WEIGHTS[0])
    weight_reciprocity: float = column(Double, default=DEFAULT_WEIGHTS[1])
    weight_appreciation: float = column(Double, default=DEFAULT_WEIGHTS[2])
    visibility: str = column(String(8), default="team", server_default="team")
    agenda_stall_factor: float = column(Double, default=1.5, server_default=text("1.5"))
    agenda_touch_lift: float = column(Double, default=0.25, server_default=text("0.25"))
    idp_issuer: str | None = column(String(500), default=None)
    idp_audience: str | None = column(String(500), default=None)
    idp_member_claim: str = column(String(64), default="email", server_default="email")
    idp_unknown_members: str = column(String(8), default="refuse", server_default="refuse")
    # Browser origins the front-end team allows (CORS), and its requests' default limit
    # (null: the operator's RAPPORT_RATE_LIMIT_PER_MINUTE).
    cors_origins: list[str] = column(
        ARRAY(String(200)), default_factory=list, server_default=text("'{}'")
    )
    rate_limit_per_minute: int | None = None
    rate_limit_burst: int | None = None
    version: int = 1
    created_at: datetime = created_at_column()
    updated_at: datetime = created_at_column()


class ScoreWeights(InputModel):
    """Weights of the relationship-strength components; they must sum to 1."""

    communication: float = Field(ge=0, le=1)
    reciprocity: float = Field(ge=0, le=1)
    appreciation: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> ScoreWeights:
        total = self.communication + self.reciprocity + self.appreciation
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"score weights must sum to 1 (got {total:g})")
        return self


def _parse_hhmm(value: object) -> object:
    """Local wall-clock times only: ``"HH:MM"`` text (or a ``time`` without a zone, from
    a stored row). Pydantic would also take a number of seconds, as a time in UTC, which
    cannot be compared with a local one."""
    if isinstance(value, str):
        if not _HHMM.fullmatch(value):
            raise ValueError("use 24-hour HH:MM, e.g. '09:00'")
        return time(int(value[:2]), int(value[3:]))
    if isinstance(value, time) and value.tzinfo is None:
        return value
    raise ValueError("use 24-hour HH:MM text, e.g. '09:00'")


_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
LocalTime = Annotated[
    time,
    BeforeValidator(_parse_hhmm),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}),
]


class SendWindow(InputModel):
    """Contact-local hours during which automated touches may go out."""

    start: LocalTime = Field(examples=["09:00"])
    end: LocalTime = Field(examples=["20:00"])

    @model_validator(mode="after")
    def _start_before_end(self) -> SendWindow:
        if self.start >= self.end:
            raise ValueError("send window start must be before its end")
        return self


class WorkspaceRead(OutputModel):
    id: uuid.UUID
    name: str
    time_zone: str
    send_window: SendWindow
    lapse_threshold_days: int
    referral_follow_up_hours: int
    referral_thank_you_channel: ThankYouChannel = Field(
        description="Channel of the thank-you touch scheduled for each received referral."
    )
    referral_thank_you_mode: ThankYouMode
    default_sender_member_id: uuid.UUID | None = Field(
        description="The member whose name signs touches of contacts without an owner "
        "(and to whom their tasks go); null: such contacts cannot be enrolled in a plan "
        "whose templates name the member."
    )
    outcome_grace_days: int = Field(
        description="Days after a touch fell due within which its sender may report the "
        "outcome; a touch still unreported then becomes `unconfirmed`."
    )
    score_weights: ScoreWeights
    visibility: Visibility = Field(
        description="`team`: every member sees every contact. `own`: agents see only the "
        "contacts they own or that are shared with them (assistants: their agents'), and "
        "those contacts' referrals, touches, rewards, scores and analytics; admins and "
        "leaders see all."
    )
    agenda_stall_factor: float = Field(
        description="A referral is stalled on the agenda after this many times the funnel's "
        "average hours in its stage."
    )
    agenda_touch_lift: float = Field(
        description="Probability (0-1) that a touch keeps a relationship's referrals that "
        "would otherwise be lost; the agenda's values use it until the workspace has 30 "
        "measured lapses (docs/SCORES.md)."
    )
    cors_origins: list[str] = Field(
        description="Browser origins allowed to call the API with this workspace's "
        "credentials (CORS), besides the operator's `RAPPORT_CORS_ORIGINS`.",
        examples=[["https://app.example.com"]],
    )
    rate_limit: RateLimitRead | None = Field(
        description="Each credential's default request limit; null: the service's default "
        "(`RAPPORT_RATE_LIMIT_PER_MINUTE`). An API key may override it."
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, ws: Workspace) -> WorkspaceRead:
        return cls(
            id=ws.id,
            name=ws.name,
            time_zone=ws.time_zone,
            send_window=SendWindow(start=ws.send_window_start, end=ws.send_window_end),
            lapse_threshold_days=ws.lapse_threshold_days,
            referral_follow_up_hours=ws.referral_follow_up_hours,
            referral_thank_you_channel=ws.referral_thank_you_channel,
            referral_thank_you_mode=ws.referral_thank_you_mode,
            default_sender_member_id=ws.default_sender_member_id,
            outcome_grace_days=ws.outcome_grace_days,
            score_weights=ScoreWeights(
                communication=ws.weight_communication,
                reciprocity=ws.weight_reciprocity,
                appreciation=ws.weight_appreciation,
            ),
            visibility=ws.visibility,
            agenda_stall_factor=ws.agenda_stall_factor,
            agenda_touch_lift=ws.agenda_touch_lift,
            cors_origins=ws.cors_origins,
            rate_limit=rate_limit_of(ws.rate_limit_per_minute, ws.rate_limit_burst),
            version=ws.version,
            created_at=ws.created_at,
            updated_at=ws.updated_at,
        )


class WorkspaceUpdate(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    time_zone: TimeZoneName | None = None
    send_window: SendWindow | None = None
    lapse_threshold_days: int | None = Field(default=None, ge=1, le=3650)
    referral_follow_up_hours: int | None = Field(default=None, ge=1, le=24 * 30)
    referral_thank_you_channel: ThankYouChannel | None = None
    referral_thank_you_mode: ThankYouMode | None = None
    default_sender_member_id: uuid.UUID | None = Field(
        default=None, description="A member of the workspace; null clears it."
    )
    outcome_grace_days: int | None = Field(default=None, ge=1, le=365)
    score_weights: ScoreWeights | None = None
    visibility: Visibility | None = None
    agenda_stall_factor: float | None = Field(default=None, ge=1, le=20)
    agenda_touch_lift: float | None = Field(default=None, gt=0, le=1)
    cors_origins: list[Origin] | None = Field(
        default=None,
        max_length=MAX_ORIGINS,
        description="Replaces the list of browser origins allowed to call the API (CORS), "
        "e.g. your web app's `https://app.example.com`.",
    )
    rate_limit: RateLimit | None = Field(
        default=None, description="Each credential's default limit; null for the service's."
    )


class IdentityProvider(InputModel):
    """The workspace's OpenID Connect provider, whose tokens sign members in."""

    issuer: str = Field(
        min_length=8,
        max_length=500,
        pattern=r"^https?://[^\s]+$",
        description="The provider's issuer URL, exactly as its tokens' `iss` claim "
        "(its discovery document is `<issuer>/.well-known/openid-configuration`).",
        examples=["https://login.example.com/realms/acme"],
    )
    audience: str = Field(
        min_length=1,
        max_length=500,
        description="The client id this app's tokens are issued for (their `aud`).",
        examples=["rapport-web"],
    )
    member_claim: str = Field(
        default="email",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="The claim whose value is the member's e-mail address.",
    )
    unknown_members: UnknownMembers = Field(
        default="refuse",
        description="A token naming nobody in the team: `refuse` (401) or `create` the "
        "person as an `agent`.",
    )


class IdentityProviderRead(OutputModel):
    issuer: str
    audience: str
    member_claim: str
    unknown_members: UnknownMembers
