"""Service records: the work done for a contact, with the client's ratings of it.

Ratings are 1-10 for communication (C), quality (Q), perceived value (V) and overall
satisfaction (S); they feed the satisfaction model and, through ``partner_id``, the review
of allied resources who served the client.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints
from sqlalchemy import CheckConstraint, Index, Numeric, SmallInteger, String

from app.models.platform import (
    Amount,
    IdMixin,
    InputModel,
    IsoDate,
    Money,
    OutputModel,
    column,
    created_at_column,
    tenant_fk,
    workspace_fk,
)

RATINGS = ("communication", "quality", "value", "satisfaction")
Rating = Annotated[int, Field(ge=1, le=10)]


def _rating_check(name: str) -> CheckConstraint:
    return CheckConstraint(f"rating_{name} BETWEEN 1 AND 10", name=f"rating_{name}_range")


class ServiceRecord(IdMixin, table=True):
    __tablename__ = "service_records"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        tenant_fk(["member_id"], "members", ondelete="SET NULL"),
        tenant_fk(["partner_id"], "contacts", ondelete="SET NULL"),
        *(_rating_check(r) for r in RATINGS),
        Index(
            "ix_service_records_workspace_id_contact_id_date", "workspace_id", "contact_id", "date"
        ),
        Index("ix_service_records_workspace_id_partner_id", "workspace_id", "partner_id"),
    )

    contact_id: uuid.UUID
    date: dt.date
    service: str = column(String(200))
    value: Decimal | None = column(Numeric(14, 2), default=None)
    member_id: uuid.UUID | None = None
    partner_id: uuid.UUID | None = None
    rating_communication: int | None = column(SmallInteger, default=None)
    rating_quality: int | None = column(SmallInteger, default=None)
    rating_value: int | None = column(SmallInteger, default=None)
    rating_satisfaction: int | None = column(SmallInteger, default=None)
    notes: str | None = column(String(2000), default=None)
    created_at: dt.datetime = created_at_column()


class Ratings(InputModel):
    communication: Rating | None = Field(default=None, description="C")
    quality: Rating | None = Field(default=None, description="Q")
    value: Rating | None = Field(default=None, description="V")
    satisfaction: Rating | None = Field(default=None, description="S")


class ServiceRecordCreate(InputModel):
    date: IsoDate
    service: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    value: Money | None = Field(default=None, examples=["425000.00"])
    member_id: uuid.UUID | None = None
    partner_id: uuid.UUID | None = Field(
        default=None, description="The allied-resource contact who served the client."
    )
    ratings: Ratings = Field(default_factory=Ratings)
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None


class RatingsRead(OutputModel):
    communication: int | None
    quality: int | None
    value: int | None
    satisfaction: int | None


class ServiceRecordRead(OutputModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    date: dt.date
    service: str
    value: Amount | None
    member_id: uuid.UUID | None
    partner_id: uuid.UUID | None
    ratings: RatingsRead
    notes: str | None
    created_at: dt.datetime

    @classmethod
    def of(cls, row: ServiceRecord) -> ServiceRecordRead:
        return cls(
            id=row.id,
            contact_id=row.contact_id,
            date=row.date,
            service=row.service,
            value=row.value,
            member_id=row.member_id,
            partner_id=row.partner_id,
            ratings=RatingsRead(
                communication=row.rating_communication,
                quality=row.rating_quality,
                value=row.rating_value,
                satisfaction=row.rating_satisfaction,
            ),
            notes=row.notes,
            created_at=row.created_at,
        )
