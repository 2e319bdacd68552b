"""API schemas of contacts: what a client may send (the documents it reads are ``reads``).

The table lives in ``app.models.contacts.tables``; these schemas do the validating (e-mail syntax,
E.164 phones, IANA zones, size limits) so the service only sees well-formed values.
Rules that need the stored row (owner exists, a name for the kind, a category for allied
resources) are checked by the service on the merged state.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import (
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from app.json_codec import depth, to_json
from app.models.contacts.phones import parse_phone
from app.models.contacts.tables import AdvocacyStage, Segment
from app.models.platform import (
    AwareTime,
    EmailAddress,
    InputModel,
    IsoDate,
    TimeZoneName,
    omit_null,
)

ContactKind = Literal["person", "business"]
EmailType = Literal["home", "work", "other"]
PhoneType = Literal["mobile", "home", "work", "fax", "other"]
ConsentStatus = Literal["granted", "denied"]

MAX_CUSTOM_FIELDS_BYTES = 16 * 1024
MAX_CUSTOM_FIELDS_DEPTH = 5  # the object itself is level 1
DEFAULT_REGION = "US"

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Locale = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)
]
Region = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$", to_upper=True)]
AlliedCategory = Annotated[
    str,
    StringConstraints(to_lower=True, pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$"),
    Field(examples=["lender", "inspector", "attorney", "contractor"]),
]
ExternalSource = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class EmailEntry(InputModel):
    address: EmailAddress = Field(max_length=320, examples=["dana@example.com"])
    type: EmailType = "other"
    primary: bool = False


class PhoneEntry(InputModel):
    number: str = Field(
        min_length=3,
        max_length=40,
        description="Any format `phonenumbers` understands; stored as E.164.",
        examples=["+1 415 555 0123", "(415) 555-0123"],
    )
    type: PhoneType = "mobile"
    primary: bool = False


class Address(InputModel):
    line1: ShortText | None = None
    line2: ShortText | None = None
    city: ShortText | None = None
    region: ShortText | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = (
        None
    )
    country: Region | None = Field(default=None, description="ISO 3166-1 alpha-2, e.g. `US`.")


class FamilyMember(InputModel):
    name: Name
    relation: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    birthday: IsoDate | None = None


class ConsentEntry(InputModel):
    status: ConsentStatus
    at: AwareTime | None = Field(default=None, description="When given; defaults to now.")
    source: ShortText | None = Field(default=None, examples=["web form", "phone call"])


class Consent(InputModel):
    email: ConsentEntry | None = None
    sms: ConsentEntry | None = None
    call: ConsentEntry | None = None
    mail: ConsentEntry | None = None


def _one_primary(entries: list[Any], key: str) -> list[Any]:
    """Drop repeats (first one wins) and make exactly one entry primary (the first by default)."""
    if len(entries) == 1:  # most contacts have one address and one number
        entries[0].primary = True
        return entries
    seen: dict[str, Any] = {}
    for entry in entries:
        value = getattr(entry, key).lower()
        if value in seen:
            seen[value].primary = seen[value].primary or entry.primary
        else:
            seen[value] = entry
    kept = list(seen.values())
    if sum(1 for e in kept if e.primary) > 1:
        raise ValueError(f"only one {key} may be primary")
    if kept and not any(e.primary for e in kept):
        kept[0].primary = True
    return kept


_NOT_NULL = (
    "kind",
    "segment",
    "emails",
    "phones",
    "family",
    "interests",
    "tags",
    "custom_fields",
    "consent",
    "do_not_contact",
    "external_ids",
)


class _ContactRules(InputModel):
    """Validators shared by create, update and upsert bodies."""

    @field_validator(*_NOT_NULL, check_fields=False)
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be omitted but not null")
        return value

    @field_validator("default_region", check_fields=False)
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is not None and value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {value!r}")
        return value

    @field_validator("emails", check_fields=False)
    @classmethod
    def _emails(cls, value: list[EmailEntry] | None) -> list[EmailEntry] | None:
        return None if value is None else _one_primary(value, "address")

    @field_validator("phones", check_fields=False)
    @classmethod
    def _phones(cls, value: list[PhoneEntry] | None, info: ValidationInfo) -> Any:
        if value is None:
            return None
        address = info.data.get("address")
        region = info.data.get("default_region") or (address and address.country) or DEFAULT_REGION
        for entry in value:
            entry.number = parse_phone(entry.number, region)
        return _one_primary(value, "number")

    @field_validator("tags", "interests", check_fields=False)
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(dict.fromkeys(value))

    @field_validator("custom_fields", check_fields=False)
    @classmethod
    def _bounded(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        if depth(value) > MAX_CUSTOM_FIELDS_DEPTH:
            raise ValueError(
                f"custom fields nest deeper than {MAX_CUSTOM_FIELDS_DEPTH} levels of objects "
                "and arrays"
            )
        if len(to_json(value).encode()) > MAX_CUSTOM_FIELDS_BYTES:
            raise ValueError(f"custom fields exceed {MAX_CUSTOM_FIELDS_BYTES} bytes as JSON")
        return value


_EXAMPLE: dict[str, Any] = {
    "first_name": "Maria",
    "last_name": "Lopez",
    "emails": [{"address": "maria@example.com", "type": "home", "primary": True}],
    "phones": [{"number": "(415) 555-0123", "type": "mobile"}],
    "segment": "client",
    "tags": ["2024-buyer"],
    "consent": {"email": {"status": "granted", "source": "closing paperwork"}},
    "external_ids": {"hubspot": "51"},
}


class ContactCreate(_ContactRules):
    """A person (first/last name) or a business (company name)."""

    model_config = ConfigDict(json_schema_extra={"example": _EXAMPLE})

    kind: ContactKind = "person"
    first_name: Name | None = None
    last_name: Name | None = None
    company_name: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None
    ) = None
    company: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    job_title: ShortText | None = None
    default_region: Region | None = Field(
        default=None,
        description="Region for phone numbers written without a country code (default: "
        "the address's country, else US). Not stored.",
    )
    address: Address | None = None
    emails: list[EmailEntry] = Field(default_factory=list, max_length=20)
    phones: list[PhoneEntry] = Field(default_factory=list, max_length=20)
    time_zone: TimeZoneName | None = None
    locale: Locale | None = Field(default=None, examples=["en-US"])
    owner_id: uuid.UUID | None = Field(default=None, description="A member of the workspace.")
    segment: Segment = "prospect"
    allied_category: AlliedCategory | None = Field(
        default=None, description="Required for `allied_resource`, refused for other segments."
    )
    advocacy_stage: AdvocacyStage | None = Field(
        default=None, description="Set by hand: later suggestions no longer override it."
    )
    family: list[FamilyMember] = Field(default_factory=list, max_length=50)
    interests: list[Tag] = Field(default_factory=list, max_length=100)
    tags: list[Tag] = Field(default_factory=list, max_length=100)
    custom_fields: dict[str, Any] = Field(
        default_factory=dict, description="Any JSON object up to 16 KB."
    )
    consent: Consent = Field(default_factory=Consent)
    do_not_contact: bool = False
    external_ids: dict[ExternalSource, ExternalId] = Field(
        default_factory=dict, max_length=20, examples=[{"hubspot": "51"}]
    )


class ContactUpdate(_ContactRules):
    """Fields sent replace the stored ones (lists and objects wholesale); omitted ones stay."""

    model_config = ConfigDict(json_schema_extra=omit_null(*_NOT_NULL))

    kind: ContactKind | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    company_name: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None
    ) = None
    company: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    job_title: ShortText | None = None
    default_region: Region | None = None
    address: Address | None = None
    emails: list[EmailEntry] | None = Field(default=None, max_length=20)
    phones: list[PhoneEntry] | None = Field(default=None, max_length=20)
    time_zone: TimeZoneName | None = None
    locale: Locale | None = None
    owner_id: uuid.UUID | None = None
    segment: Segment | None = None
    allied_category: AlliedCategory | None = None
    advocacy_stage: AdvocacyStage | None = None
    family: list[FamilyMember] | None = Field(default=None, max_length=50)
    interests: list[Tag] | None = Field(default=None, max_length=100)
    tags: list[Tag] | None = Field(default=None, max_length=100)
    custom_fields: dict[str, Any] | None = None
    consent: Consent | None = None
    do_not_contact: bool | None = None
    external_ids: dict[ExternalSource, ExternalId] | None = Field(default=None, max_length=20)


class ContactUpsert(ContactUpdate):
    """Body of the by-external-id upsert: creates with these fields, or updates only them."""
