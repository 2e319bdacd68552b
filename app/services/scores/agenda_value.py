"""What an agenda item is worth: the referral value its action protects or creates.

Pure functions of figures the agenda reads (docs/SCORES.md, "The agenda", has the formula
and a worked example). Every value is a relationship's expected referral value over the
next year, times the probability that this one action changes it:

* ``V = E x AV``: a contact's expected referrals per year ``E`` (their own last year,
  blended with one year of their segment's rate: ``(own + segment) / 2``) times the value
  of one of their referrals ``AV`` (closed value per referral they sent; the workspace's
  when they never sent one in the reporting currency);
* ``reconnect`` and ``thank``: ``V x lift``, the touch before a lapse (or the thanks after
  a referral) keeps the referrals a lost relationship would not send;
* ``approve``: ``V x lift`` of the referrer, who is waiting for their reward;
* ``task`` and ``observance``: ``V x lift x ROUTINE_SHARE``, one of the year's routine
  touches that keep the relationship warm;
* ``follow_up``: the deal itself, ``deal x close rate x lift`` (the referral's expected
  value, else the workspace's average closed deal; the workspace's close rate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

CENT = Decimal("0.01")
#: A routine touch is one of roughly four a year that keep a relationship from lapsing.
ROUTINE_SHARE = 0.25
#: The close rate assumed before the workspace has closed or lost a referral in a year.
DEFAULT_CLOSE_RATE = 0.25


@dataclass(frozen=True)
class WorkspaceFigures:
    """The last year of received referrals in the reporting currency."""

    received: int
    closed: int
    closed_value: Decimal

    @property
    def value_per_referral(self) -> Decimal:
        return self.closed_value / self.received if self.received else Decimal(0)

    @property
    def average_deal(self) -> Decimal:
        return self.closed_value / self.closed if self.closed else Decimal(0)

    @property
    def close_rate(self) -> float:
        return self.closed / self.received if self.closed else DEFAULT_CLOSE_RATE


@dataclass(frozen=True)
class Relationship:
    """A contact's expected referrals per year and the value of one of their referrals."""

    own_last_year: int
    segment_rate: float
    value_per_referral: Decimal
    own_value: bool  # AV from the contact's own referrals, not the workspace's
    yearly_value: Decimal = field(init=False)  # V = E x AV (E to 6 decimals)

    def __post_init__(self) -> None:
        e = Decimal(str(round(self.expected_per_year, 6)))
        object.__setattr__(self, "yearly_value", e * self.value_per_referral)

    @property
    def expected_per_year(self) -> float:
        return (self.own_last_year + self.segment_rate) / 2


def relationship(
    own_last_year: int,
    own_sent: int,
    own_closed_value: Decimal,
    segment_contacts: int,
    segment_referrals: int,
    workspace: WorkspaceFigures,
) -> Relationship:
    segment_rate = segment_referrals / segment_contacts if segment_contacts else 0.0
    own = own_sent > 0
    per_referral = own_closed_value / own_sent if own else workspace.value_per_referral
    return Relationship(own_last_year, segment_rate, per_referral, own)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


@lru_cache(maxsize=256)
def _product(factors: tuple[float, ...]) -> Decimal:
    result = Decimal(1)
    for factor in factors:
        result *= Decimal(str(factor))
    return result


def times(value: Decimal, *factors: float) -> Decimal:
    """``value`` x the factors (as their decimal spelling), to the cent."""
    return money(value * _product(factors))


def explain_relationship(rel: Relationship, lift: float, currency: str) -> str:
    """The one-line arithmetic behind a relationship's value, as a person reads it."""
    source = "their referrals" if rel.own_value else "workspace average"
    return (
        f"{rel.expected_per_year:.2f} referrals/yr x {currency} "
        f"{money(rel.value_per_referral):,} each ({source}) x {lift:.0%} touch lift"
    )
