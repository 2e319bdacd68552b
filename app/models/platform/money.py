"""Money in tables and in the API: exact decimals with a currency code, never floats.

Amounts are ``Numeric(14, 2)`` in PostgreSQL and :class:`~decimal.Decimal` in Python, and
travel in JSON as strings (``"1250.00"``). A JSON number with a fraction is refused at the
door: by the time it reaches Python it is already a binary float, and ``0.1`` would be
stored as whatever the float happened to round to.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema
from sqlalchemy import Numeric, String

from app.models.platform.base import column

MONEY_DIGITS = 14
MONEY_PLACES = 2


def _exact_decimal(text: re.Pattern[str], low: int, high: int, example: str) -> Any:
    """Metadata for a decimal accepted exactly as its JSON schema documents it: a decimal
    string matching ``text``, or a whole JSON number from ``low`` to ``high``.

    Schema-driven fuzzing found what the field constraints alone let through or refused
    unannounced: a 10,000-character string of zeros passed (``max_digits`` does not count
    leading zeros), ``-5`` matched the documented pattern yet was refused, ``true`` was an
    amount of 1. A JSON number with a fraction is refused here too: by the time it
    reaches Python it is already a binary float (a whole one, ``1250.0``, is an integer
    to JSON Schema and is taken).
    """

    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f'send a decimal string, e.g. "{example}", not true or false')
        if isinstance(value, float):  # JSON Schema counts 1250.0 as an integer too
            if not value.is_integer():
                raise ValueError(f'send a decimal string, e.g. "{example}", not a JSON number')
            value = int(value)
        if isinstance(value, str) and text.match(value) is None:
            raise ValueError(f'not a decimal string of the documented form, e.g. "{example}"')
        if isinstance(value, int) and not low <= value <= high:
            raise ValueError(f"a whole number must be from {low} to {high}")
        return value

    schema = {
        "anyOf": [
            {"type": "string", "pattern": text.pattern, "examples": [example]},
            {"type": "integer", "minimum": low, "maximum": high},
        ]
    }
    return (BeforeValidator(check), WithJsonSchema(schema))


_CENT = Decimal("0.01")


def _in_cents(value: Decimal) -> Decimal:
    """``300000`` and ``"12.5"`` become ``300000.00`` and ``12.50``: the form the column
    stores and every answer, echo, event and stored rule then shows (one form per value)."""
    return value.quantize(_CENT)


Money = Annotated[
    Decimal,
    Field(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, ge=0),
    *_exact_decimal(re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$"), 0, 10**12 - 1, "1250.00"),
    AfterValidator(_in_cents),
]
"""A non-negative amount with at most two decimals, as accepted from clients (and kept
with exactly two)."""

Amount = Annotated[
    Decimal,
    PlainSerializer(lambda value: f"{value.quantize(_CENT)}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "examples": ["1250.00"]}),
]
"""An amount as answered: a decimal string with exactly two places (``"300000.00"``)."""

# Above 0 and at most 100, four decimals at most: no lookahead, which not every
# JSON-schema tool supports. Digits are [0-9]: Python's \d also takes other scripts'
# digits, which a JSON schema's \d (ECMA-262) does not.
_PERCENT = (
    r"^(100(\.0{1,4})?|[1-9][0-9]?(\.[0-9]{1,4})?"
    r"|0\.([1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9]))$"
)
Percent = Annotated[
    Decimal,
    Field(max_digits=7, decimal_places=4, gt=0, le=100),
    *_exact_decimal(re.compile(_PERCENT), 1, 100, "2.5"),
]
"""A percentage such as ``"2.5"`` (2.5 %), as a decimal string."""

# Above 0 and at most 1, four decimals at most (``Percent``'s form, for a fraction).
_SHARE = r"^(1(\.0{1,4})?|0\.([1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9]))$"
Share = Annotated[
    Decimal,
    Field(max_digits=5, decimal_places=4, gt=0, le=1),
    *_exact_decimal(re.compile(_SHARE), 1, 1, "0.4"),
]
"""A share of a whole such as ``"0.4"`` (40 %), as a decimal string."""

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


def money_column(*, nullable: bool = False) -> Any:
    """``Numeric(14, 2)``: up to 999,999,999,999.99, exact, returned as ``Decimal``."""
    money = Numeric(MONEY_DIGITS, MONEY_PLACES, asdecimal=True)
    return column(money, default=None) if nullable else column(money)


def currency_column() -> Any:
    return column(String(3))
