"""Money in tables and in the API: exact decimals with a currency code, never floats.

Amounts are ``Numeric(14, 2)`` in PostgreSQL and :class:`~decimal.Decimal` in Python, and
travel in JSON as strings (``"1250.00"``). A JSON number with a fraction is refused at the
door: by the time it reaches Python it is already a binary float, and ``0.1`` would be
stored as whatever the float happened to round to.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema
from sqlalchemy import Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

MONEY_DIGITS = 14
MONEY_PLACES = 2


def _refuse_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError('send amounts as decimal strings, e.g. "1250.00", not JSON numbers')
    return value


_MONEY_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": r"^-?\d{1,12}(\.\d{1,2})?$", "examples": ["1250.00"]}
)

Money = Annotated[
    Decimal,
    BeforeValidator(_refuse_float),
    Field(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, ge=0),
    _MONEY_SCHEMA,
]
"""A non-negative amount with at most two decimals, as accepted from clients."""

Percent = Annotated[
    Decimal,
    BeforeValidator(_refuse_float),
    Field(max_digits=7, decimal_places=4, gt=0, le=100),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,3}(\.\d{1,4})?$", "examples": ["2.5"]}),
]
"""A percentage such as ``"2.5"`` (2.5 %), as a decimal string."""

CurrencyCode = Annotated[
    str,
    Field(
        pattern=r"^[A-Z]{3}$",
        min_length=3,
        max_length=3,
        description="ISO 4217 currency code.",
        examples=["USD"],
    ),
]


def money_column(*, nullable: bool = False) -> Mapped[Any]:
    """``Numeric(14, 2)``: up to 999,999,999,999.99, exact, returned as ``Decimal``."""
    return mapped_column(Numeric(MONEY_DIGITS, MONEY_PLACES, asdecimal=True), nullable=nullable)


def currency_column() -> Mapped[str]:
    return mapped_column(String(3))
