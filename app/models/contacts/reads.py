"""API schemas of contacts as clients read them: the contact document and its parts, and
the merge and duplicate shapes. Inputs are ``inputs``; the table is ``tables``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import (
    Field,
)

from app.models.contacts.inputs import ConsentStatus, ContactKind, EmailType, PhoneType
from app.models.contacts.tables import AdvocacyStage, Segment
from app.models.platform import (
    InputModel,
    OutputModel,
    UtcDatetime,
)


class EmailRead(OutputModel):
    address: str
    type: EmailType
    primary: bool


class PhoneRead(OutputModel):
    number: str = Field(description="E.164", examples=["+14155550123"])
    type: PhoneType
    primary: bool


class ConsentEntryRead(OutputModel):
    status: ConsentStatus
    at: UtcDatetime
    source: str | None = None


class ConsentRead(OutputModel):
    email: ConsentEntryRead | None = None
    sms: ConsentEntryRead | None = None
    call: ConsentEntryRead | None = None
    mail: ConsentEntryRead | None = None


class AddressRead(OutputModel):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


class FamilyMemberRead(OutputModel):
    name: str
    relation: str
    birthday: date | None = None


class ContactRead(OutputModel):
    id: uuid.UUID
    kind: ContactKind
    display_name: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    company: str | None
    job_title: str | None
    emails: list[EmailRead]
    phones: list[PhoneRead]
    primary_email: str | None
    primary_phone: str | None
    address: AddressRead | None
    time_zone: str | None
    locale: str | None
    owner_id: uuid.UUID | None
    segment: Segment
    allied_category: str | None
    advocacy_stage: AdvocacyStage
    advocacy_stage_manual: bool
    family: list[FamilyMemberRead]
    interests: list[str]
    tags: list[str]
    custom_fields: dict[str, Any]
    consent: ConsentRead
    do_not_contact: bool
    external_ids: dict[str, str]
    last_engaged_at: datetime | None = Field(description="Latest inbound or two-way engagement.")
    lapsed_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class MergeRequest(InputModel):
    other_id: uuid.UUID = Field(description="The contact folded into this one and then deleted.")


DuplicateReason = Literal["email", "name", "phone", "similar_name"]


class DuplicateGroup(OutputModel):
    reason: DuplicateReason = Field(
        description="`similar_name`: names that sound alike (Soundex of each word, in any "
        "order), e.g. Jon Smith and John Smyth."
    )
    value: str = Field(
        description="The shared e-mail, E.164 phone or normalised name; for `similar_name` "
        "the names, separated by ` / `."
    )
    contact_ids: list[uuid.UUID]
