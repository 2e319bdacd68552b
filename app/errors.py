"""The domain's errors.

Services raise these and know nothing of HTTP; one handler in the web layer renders each
as RFC 9457 problem+json. ``status`` is the HTTP status a client should see, kept here so
that a new error kind is one class, not one class plus a mapping somewhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One invalid input, with the path to it as the client sent it (``["body", "email"]``)."""

    loc: Sequence[str | int]
    msg: str
    type: str = "value_error"

    def as_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


@dataclass
class DomainError(Exception):
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    slug: ClassVar[str] = "bad-request"

    def __str__(self) -> str:
        return self.detail


class NotFound(DomainError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class PreconditionFailed(DomainError):
    status = 412
    title = "Precondition failed"
    slug = "precondition-failed"


class PayloadTooLarge(DomainError):
    status = 413
    title = "Payload too large"
    slug = "payload-too-large"


class Unauthenticated(DomainError):
    status = 401
    title = "Unauthenticated"
    slug = "unauthenticated"


class ServiceUnavailable(DomainError):
    """Something Rapport depends on (an identity provider) cannot be reached: try again."""

    status = 503
    title = "Service unavailable"
    slug = "service-unavailable"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


@dataclass
class TooManyRequests(DomainError):
    """The credential spent its rate limit; ``retry_after`` seconds until a request fits."""

    retry_after: int = 1

    status: ClassVar[int] = 429
    title: ClassVar[str] = "Too many requests"
    slug: ClassVar[str] = "rate-limited"


@dataclass
class ValidationFailed(DomainError):
    """Input that parsed but breaks a rule; ``errors`` names every offending field."""

    errors: list[FieldError] = field(default_factory=list)

    status: ClassVar[int] = 422
    title: ClassVar[str] = "Validation failed"
    slug: ClassVar[str] = "validation-failed"

    @classmethod
    def on(cls, loc: Sequence[str | int], msg: str) -> ValidationFailed:
        return cls(detail=f"{'.'.join(str(p) for p in loc)}: {msg}", errors=[FieldError(loc, msg)])
