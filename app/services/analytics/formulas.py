"""Pure formulas from the seeds: referral value, ROI, relationship strength and reward amounts.

Money is handled as :class:`~decimal.Decimal` throughout so that ledgers add up to the cent;
scores are floats because they are indicators, not amounts anyone is paid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

CENT = Decimal("0.01")
RATE_QUANTUM = Decimal("0.0001")
_WEIGHT_SUM_TOLERANCE = 1e-6


def _money(value: Decimal) -> Decimal:
    # Banker's rounding keeps aggregated rounding errors unbiased across many rows.
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def referral_value(
    *,
    contacts: int,
    conversion_rate: Decimal,
    average_value: Decimal,
    acquisition_cost: Decimal,
    tracking_cost: Decimal,
) -> Decimal:
    """RV = (C x CR x AV) - (AC + TC), rounded to the cent.

    The result may be negative: a source whose referrals cost more to win and track than they
    bring in has a negative referral value, and hiding that would defeat the purpose.
    """
    if contacts < 0:
        raise ValueError("contacts must be >= 0")
    if not Decimal(0) <= conversion_rate <= Decimal(1):
        raise ValueError("conversion_rate must be a fraction between 0 and 1")
    return _money(contacts * conversion_rate * average_value - (acquisition_cost + tracking_cost))


def roi_percent(*, revenue: Decimal, costs: Decimal) -> Decimal | None:
    """ROI = (revenue - costs) / costs x 100, in percent with 2 decimals.

    Returns None when nothing was spent: ROI is undefined there (not infinite, not zero), and
    callers must show "n/a" rather than a misleading number.
    """
    if costs < 0:
        raise ValueError("costs must be >= 0")
    if costs == 0:
        return None
    return ((revenue - costs) / costs * 100).quantize(CENT, rounding=ROUND_HALF_EVEN)


def conversion_rate(converted: int, total: int) -> Decimal | None:
    """Share of ``total`` that converted, as a fraction 0..1 with 4 decimals.

    Four decimals keep hundredths of a percent, enough for reports, while the value stays
    usable as CR in :func:`referral_value`. None when there is nothing to convert.
    """
    if total < 0 or converted < 0:
        raise ValueError("counts must be >= 0")
    if converted > total:
        raise ValueError("converted cannot exceed total")
    if total == 0:
        return None
    return (Decimal(converted) / Decimal(total)).quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)


def recency_weight(age_days: float, half_life_days: float = 90.0) -> float:
    """Weight of one activity given its age: 0.5 ** (age / half_life).

    Recent activity weighs more, smoothly: an activity one half-life old counts half as much as
    one today, with no cliff at the window edge. Negative ages (clock skew, future-dated
    records) count as today rather than more than today.
    """
    if half_life_days <= 0:
        raise ValueError("half_life_days must be > 0")
    return float(0.5 ** (max(age_days, 0.0) / half_life_days))


def saturating_score(weighted_count: float, target: float) -> float:
    """Map a recency-weighted activity count onto 0..100: 100 x (1 - exp(-count / target)).

    Raw counts are unbounded, so they are normalised with a saturating curve rather than a
    linear cap: a component reaches ~63 when the weighted count equals ``target``, ~86 at twice
    the target and ~95 at three times, and approaches 100 only asymptotically. Every extra
    touch still raises the score a little, but ever less, so one hyperactive contact cannot
    dominate and a contact at the target is already "strong" without being maxed out.
    """
    if target <= 0:
        raise ValueError("target must be > 0")
    if weighted_count <= 0:
        return 0.0
    return min(100.0, -100.0 * math.expm1(-weighted_count / target))


def relationship_strength(
    components: tuple[float, float, float], weights: tuple[float, float, float]
) -> float:
    """Weighted sum w1*communication + w2*reciprocal referrals + w3*appreciation engagement.

    Each component must already be normalised to 0..100 (see :func:`saturating_score`, fed
    with counts weighted by :func:`recency_weight` over the scoring window). Because weights
    are non-negative and sum to 1 the result is a convex combination and stays in 0..100; it
    is clamped only to absorb floating-point error at the edges.
    """
    if any(w < 0 for w in weights):
        raise ValueError("weights must be >= 0")
    if abs(math.fsum(weights) - 1.0) > _WEIGHT_SUM_TOLERANCE:
        raise ValueError("weights must sum to 1")
    if any(not 0.0 <= c <= 100.0 for c in components):
        raise ValueError("components must be within 0..100")
    score = math.fsum(c * w for c, w in zip(components, weights, strict=True))
    return min(100.0, max(0.0, score))


@dataclass(frozen=True)
class Tier:
    """A reward tier: deals worth at least ``min_value`` earn ``amount``."""

    min_value: Decimal
    amount: Decimal


def reward_amount(
    *,
    kind: Literal["fixed", "percent", "tiered"],
    fixed: Decimal | None,
    percent: Decimal | None,
    tiers: Sequence[Tier],
    deal_value: Decimal | None,
) -> Decimal | None:
    """Reward for one milestone, before caps.

    None means "no reward can be computed yet" (a deal-dependent rule without a deal value, or
    a deal below every tier), which callers must tell apart from a legitimate zero reward.
    A misconfigured rule (missing fixed amount or percent) raises instead: silently paying
    nothing would hide the mistake from the referrer and the firm.
    """
    if kind == "fixed":
        if fixed is None:
            raise ValueError("fixed reward requires a fixed amount")
        return fixed
    if kind == "percent":
        if percent is None:
            raise ValueError("percent reward requires a percent")
        if deal_value is None:
            return None
        return _money(deal_value * percent / 100)
    if kind == "tiered":
        if deal_value is None:
            return None
        # Inclusive boundary: a deal exactly at min_value earns that tier. Order of the input
        # does not matter, so rules can be stored as entered.
        eligible = [t for t in tiers if t.min_value <= deal_value]
        if not eligible:
            return None
        return max(eligible, key=lambda t: t.min_value).amount
    raise ValueError(f"unknown reward kind: {kind!r}")


def apply_cap(amount: Decimal, *, already_awarded: Decimal, cap: Decimal | None) -> Decimal:
    """Trim ``amount`` so the referrer's total stays within ``cap``; never negative.

    Once the cap is reached (or exceeded, e.g. after the cap was lowered) further rewards are
    zero rather than negative: a cap limits future payouts, it never claws back past ones.
    """
    if cap is None:
        return max(amount, Decimal(0))
    remaining = max(cap - already_awarded, Decimal(0))
    return max(min(amount, remaining), Decimal(0))
