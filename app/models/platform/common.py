"""Schemas shared by every resource: input base class, pages, problems."""

from __future__ import annotations

import datetime as dt
import functools
import re
import sys
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar, get_args, get_origin

import email_validator
import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
)
from pydantic.config import JsonDict
from pydantic.json_schema import JsonSchemaValue
from pydantic.networks import validate_email
from pydantic_core import CoreSchema, PydanticCustomError

T = TypeVar("T")

# Syntax is what we check; "special-use" domains (.test, .example, localhost) are legitimate
# in a CRM that mirrors other systems' data, so the validator must not refuse them.
email_validator.SPECIAL_USE_DOMAIN_NAMES.clear()

# A domain's checks (IDNA, each label's characters) were over half of an address's
# validation (cProfile of an import's worker: 1.3 of 2.2 s), and a CRM's addresses share
# a few domains. Their outcome depends only on the domain and these settings, fixed above:
# remembered per domain, refusals (raised) never. email_validator calls the function by
# its module's global name, so the memoised one is set there.
_address_globals = vars(sys.modules["email_validator.validate_email"])
_address_globals["validate_email_domain_name"] = functools.lru_cache(maxsize=4096)(
    _address_globals["validate_email_domain_name"]
)

MAX_STRING = 10_000


@functools.lru_cache(maxsize=8192)
def _normalised_email(address: str) -> str:
    # email_validator's checks (IDNA, every label) were a twelfth of POST /v1/contacts'
    # CPU (pyinstrument); a sync sends the same addresses again and again. Refusals raise,
    # and lru_cache keeps no exceptions, so only valid addresses are remembered.
    return validate_email(address)[1]


class _EmailFormat:
    """The JSON schema ``EmailStr`` has: its string schema (and limits), format email."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        field_schema = handler(schema)
        field_schema.update(type="string", format="email")
        return field_schema


# pydantic's ``EmailStr`` (same check, same normal form, same schema), remembered.
EmailAddress = Annotated[str, AfterValidator(_normalised_email), _EmailFormat()]


def _reject_nul(value: Any) -> None:
    """Refuse NUL anywhere in a value, the keys of its objects included: PostgreSQL stores
    neither in text nor in ``jsonb`` (a custom field named with a NUL was a 500, found by
    schema-driven fuzzing).

    Objects and arrays are written as JSON first, in C: a NUL can only appear there as
    ``\\u0000``, so without that text the value holds none. Walking them in Python, for each
    field of each body, was 1.7 s of an import's 100,000 rows (``_as_documented``)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("string_nul", "NUL characters are not allowed in strings")
    elif isinstance(value, dict | list | tuple) and value:
        try:
            written = orjson.dumps(value)
        except TypeError:  # not JSON as orjson writes it (an integer past 64 bits): walk it
            written = b"\\u0000"
        if b"\\u0000" in written:  # a NUL, or text that reads like one: look closer
            _reject_nul_each(value)


def _reject_nul_each(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key)
            _reject_nul_each(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_nul_each(item)
    else:
        _reject_nul(value)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_only(value: Any) -> Any:
    """Dates as the document describes them (``YYYY-MM-DD``): pydantic would also read
    ``0`` or ``1700000000`` as a Unix time, so a typo would become 1970-01-01."""
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("date_format", "Input should be a date as YYYY-MM-DD")
    if isinstance(value, int | float):
        raise PydanticCustomError("date_type", "Input should be a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_only)]


def require_tag(schema: JsonDict) -> None:
    """``json_schema_extra`` for the members of a union told apart by ``kind``.

    The tag has a default so code can build the models, yet a request without it cannot
    be told apart and is refused: the document must say the tag is required, or clients
    generated from it (and schema fuzzers) send bodies the API rejects.
    """
    required = schema.setdefault("required", [])
    assert isinstance(required, list)
    if "kind" not in required:
        required.insert(0, "kind")


def omit_null(*fields: str) -> Callable[[JsonDict], None]:
    """``json_schema_extra`` for update bodies whose fields may be left out, not nulled.

    They are typed ``X | None = None`` so that "not sent" can be told from a value, and a
    validator refuses an explicit null; the document must then show them as plain ``X``.
    """

    def extra(schema: JsonDict) -> None:
        properties = schema.get("properties")
        assert isinstance(properties, dict)
        for name in fields:
            prop = properties[name]
            assert isinstance(prop, dict)
            arms = prop.get("anyOf")
            if isinstance(arms, list):
                kept = [a for a in arms if a != {"type": "null"}]
                del prop["anyOf"]
                only = kept[0] if len(kept) == 1 else {"anyOf": kept}
                assert isinstance(only, dict)
                prop.update(only)
            if prop.get("default", ...) is None:
                del prop["default"]

    return extra


def _unwrapped(annotation: Any) -> Any:
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


@functools.cache
def _json_kinds(model: type[BaseModel]) -> dict[str, type]:
    """The fields of ``model`` that are a JSON boolean or integer (or null)."""
    kinds: dict[str, type] = {}
    for name, info in model.model_fields.items():
        arms = {_unwrapped(a) for a in (get_args(info.annotation) or (info.annotation,))}
        kind = next((k for k in (bool, int) if k in arms), None)
        if kind is not None:
            kinds[name] = kind
    return kinds


class InputModel(BaseModel):
    """Base for every request body.

    Unknown fields are refused rather than ignored, so a client's typo surfaces as a 422
    instead of a silently unchanged record. NUL characters are refused here because
    PostgreSQL cannot store them in text, and a database error is the wrong place to learn it.

    Booleans and integers are taken as the schema types them: lax validation also read
    ``0`` and ``"yes"`` as booleans and ``false`` and ``"5"`` as integers (schema-driven
    fuzzing: ``is_default: 0`` and ``hold_days: false`` were stored). A whole float
    (``5.0``) stays an integer, as JSON Schema counts it. The check is here, once for
    every body, and not a strict type on each field: behind a field's own validator
    pydantic wrote the field's bounds into the schema as ``ge``/``le``, not
    ``minimum``/``maximum``. Query strings are text and keep lax parsing.
    """

    model_config = ConfigDict(extra="forbid", str_max_length=MAX_STRING)

    @field_validator("*", mode="before")
    @classmethod
    def _as_documented(cls, value: Any, info: ValidationInfo) -> Any:
        _reject_nul(value)
        kind = _json_kinds(cls).get(info.field_name or "")
        if kind is None:
            return value
        if kind is bool and value is not None and not isinstance(value, bool):
            raise PydanticCustomError("bool_type", "Input should be a valid boolean")
        if kind is int and isinstance(value, bool | str):
            raise PydanticCustomError("int_type", "Input should be a valid integer")
        return value


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def utc_text(value: dt.datetime) -> str:
    """A time as the API writes it everywhere: UTC with ``Z`` (pydantic's form of a UTC
    datetime), for the payloads built without a model."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _iso_time_only(value: Any) -> Any:
    """Times as the document describes them (RFC 3339 text): pydantic would also read a
    number as a Unix time (schema-driven fuzzing sent ``0`` for a date, as 1970-01-01),
    in a body or as a query string's ``?since=0.5``."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and _NUMBER.fullmatch(value.strip()) is not None
    ):
        raise PydanticCustomError("datetime_type", "Input should be a date-time as RFC 3339")
    return value


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


# A time answered in UTC whatever offset it was given in: as every stored time reads back
# from PostgreSQL, and as app.services.platform.json_sql writes it.
UtcDatetime = Annotated[dt.datetime, BeforeValidator(_iso_time_only), AfterValidator(_utc)]
# A time with its offset, as a body gives it (``AwareDatetime``, numbers refused).
AwareTime = Annotated[AwareDatetime, BeforeValidator(_iso_time_only)]


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SecretField:
    """Field metadata for a value shown once (``Annotated[str, SECRET]`` on an output field).

    Whatever keeps copies of responses (the stored replies of ``Idempotency-Key``) finds
    these fields through ``secret_fields`` and redacts them, so a secret lives only where
    its own table keeps it (hashed, for API keys). It adds nothing to the JSON schema.
    """


SECRET = SecretField()


def secret_fields(model: object) -> frozenset[str]:
    """Names (as serialised) of the top-level fields of ``model`` marked ``SECRET``."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return frozenset()
    return frozenset(
        info.serialization_alias or info.alias or name
        for name, info in model.model_fields.items()
        if any(isinstance(meta, SecretField) for meta in info.metadata)
    )


class Page(BaseModel, Generic[T]):
    """One page of a list. ``next_cursor`` is opaque; null means the list is exhausted."""

    data: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to fetch the next page; null at the end."
    )


class ProblemFieldError(BaseModel):
    loc: list[str | int] = Field(description='Path to the offending input, e.g. ["body", "email"]')
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, the shape of every error response."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "type": "https://rapport.dev/problems/validation-failed",
                "title": "Validation failed",
                "status": 422,
                "detail": "body.email: value is not a valid email address",
                "instance": "/v1/members",
                "request_id": "3f2c9b1e0e7d4c35a1c1f4f2d3b2a1c0",
                "errors": [
                    {"loc": ["body", "email"], "msg": "not a valid email", "type": "value_error"}
                ],
            }
        },
    )

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[ProblemFieldError] | None = None
