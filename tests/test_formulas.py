"""Hand-computed checks of the seed formulas and reward arithmetic."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.analytics.formulas import (
    Tier,
    apply_cap,
    conversion_rate,
    recency_weight,
    referral_value,
    relationship_strength,
    reward_amount,
    roi_percent,
    saturating_score,
)

D = Decimal


def test_referral_value_hand_computed() -> None:
    # C=20, CR=0.25, AV=300000: 20 x 0.25 x 300000 = 1,500,000
    # AC=12000, TC=3000: 1,500,000 - (12,000 + 3,000) = 1,485,000.00
    rv = referral_value(
        contacts=20,
        conversion_rate=D("0.25"),
        average_value=D("300000"),
        acquisition_cost=D("12000"),
        tracking_cost=D("3000"),
    )
    assert rv == D("1485000.00")
    assert str(rv) == "1485000.00"


def test_referral_value_can_be_negative() -> None:
    # 3 x 0.10 x 1000 = 300; 300 - (250 + 100) = -50.00
    rv = referral_value(
        contacts=3,
        conversion_rate=D("0.10"),
        average_value=D("1000"),
        acquisition_cost=D("250"),
        tracking_cost=D("100"),
    )
    assert rv == D("-50.00")


def test_referral_value_rejects_bad_inputs() -> None:
    kwargs = {"average_value": D(1), "acquisition_cost": D(0), "tracking_cost": D(0)}
    with pytest.raises(ValueError, match="contacts"):
        referral_value(contacts=-1, conversion_rate=D("0.5"), **kwargs)
    with pytest.raises(ValueError, match="conversion_rate"):
        referral_value(contacts=1, conversion_rate=D("1.5"), **kwargs)


def test_roi_hand_computed() -> None:
    # (12000 - 3000) / 3000 x 100 = 9000 / 3000 x 100 = 300.00
    assert roi_percent(revenue=D("12000"), costs=D("3000")) == D("300.00")
    # (1000 - 3000) / 3000 x 100 = -66.666... -> -66.67
    assert roi_percent(revenue=D("1000"), costs=D("3000")) == D("-66.67")
    # (2 - 3) / 3 x 100 = -33.333... -> -33.33
    assert roi_percent(revenue=D("2"), costs=D("3")) == D("-33.33")


def test_roi_half_even_rounding() -> None:
    # (100.125 - 100) / 100 x 100 = 0.125 -> ROUND_HALF_EVEN -> 0.12 (HALF_UP would give 0.13)
    assert roi_percent(revenue=D("100.125"), costs=D("100")) == D("0.12")
    # 0.135 -> 0.14 (the even neighbour)
    assert roi_percent(revenue=D("100.135"), costs=D("100")) == D("0.14")


def test_roi_zero_costs_is_none() -> None:
    assert roi_percent(revenue=D("5000"), costs=D("0")) is None
    assert roi_percent(revenue=D("0"), costs=D("0.00")) is None


def test_roi_negative_costs_rejected() -> None:
    with pytest.raises(ValueError, match="costs"):
        roi_percent(revenue=D(1), costs=D(-1))


def test_conversion_rate() -> None:
    assert conversion_rate(5, 20) == D("0.2500")  # 5 / 20 = 0.25
    assert conversion_rate(1, 3) == D("0.3333")  # 0.3333... -> 4 decimals
    assert conversion_rate(2, 3) == D("0.6667")
    assert conversion_rate(0, 7) == D("0.0000")
    assert conversion_rate(0, 0) is None
    with pytest.raises(ValueError, match="exceed"):
        conversion_rate(4, 3)
    with pytest.raises(ValueError, match=">= 0"):
        conversion_rate(-1, 3)


def test_recency_weight() -> None:
    assert recency_weight(0) == 1.0
    assert recency_weight(90) == pytest.approx(0.5)  # one half-life
    assert recency_weight(180) == pytest.approx(0.25)  # two half-lives
    assert recency_weight(30, half_life_days=30) == pytest.approx(0.5)
    assert recency_weight(-5) == 1.0  # future-dated counts as today
    with pytest.raises(ValueError, match="half_life_days"):
        recency_weight(1, half_life_days=0)


def test_saturating_score() -> None:
    assert saturating_score(0, 10) == 0.0
    # at the target: 100 x (1 - e^-1) = 63.212...
    assert saturating_score(10, 10) == pytest.approx(100 * (1 - math.exp(-1)))
    assert saturating_score(10, 10) == pytest.approx(63.21, abs=0.01)
    assert saturating_score(20, 10) == pytest.approx(86.47, abs=0.01)  # 1 - e^-2
    assert saturating_score(1e6, 10) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="target"):
        saturating_score(1, 0)


def test_relationship_strength_hand_computed() -> None:
    # 0.4 x 80 + 0.35 x 50 + 0.25 x 20 = 32 + 17.5 + 5 = 54.5
    assert relationship_strength((80, 50, 20), (0.4, 0.35, 0.25)) == pytest.approx(54.5)
    assert relationship_strength((100, 100, 100), (0.4, 0.35, 0.25)) == pytest.approx(100.0)
    assert relationship_strength((0, 0, 0), (0.4, 0.35, 0.25)) == 0.0


def test_relationship_strength_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        relationship_strength((10, 10, 10), (0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match=">= 0"):
        relationship_strength((10, 10, 10), (1.5, -0.25, -0.25))
    with pytest.raises(ValueError, match=r"0\.\.100"):
        relationship_strength((101, 10, 10), (0.4, 0.35, 0.25))


_component = st.floats(min_value=0, max_value=100, allow_nan=False)
_raw_weight = st.floats(min_value=0.001, max_value=1.0, allow_nan=False)


@settings(database=None)
@given(
    components=st.tuples(_component, _component, _component),
    raw=st.tuples(_raw_weight, _raw_weight, _raw_weight),
)
def test_relationship_strength_within_bounds(
    components: tuple[float, float, float], raw: tuple[float, float, float]
) -> None:
    total = sum(raw)
    weights = (raw[0] / total, raw[1] / total, raw[2] / total)
    score = relationship_strength(components, weights)
    assert 0.0 <= score <= 100.0
    assert min(components) - 1e-9 <= score <= max(components) + 1e-9


@settings(database=None)
@given(
    count=st.floats(min_value=0, max_value=1e9, allow_nan=False),
    target=st.floats(min_value=0.01, max_value=1e4, allow_nan=False),
)
def test_saturating_score_within_bounds(count: float, target: float) -> None:
    assert 0.0 <= saturating_score(count, target) <= 100.0


# --- rewards -------------------------------------------------------------------------------

TIERS = (
    Tier(min_value=D("500000"), amount=D("1000")),
    Tier(min_value=D("100000"), amount=D("250")),  # deliberately unordered
    Tier(min_value=D("250000"), amount=D("500")),
)


def _tiered(deal: Decimal | None) -> Decimal | None:
    return reward_amount(kind="tiered", fixed=None, percent=None, tiers=TIERS, deal_value=deal)


@pytest.mark.parametrize(
    ("deal", "expected"),
    [
        (D("99999.99"), None),  # just below the lowest tier
        (D("100000"), D("250")),  # exactly at: inclusive
        (D("100000.01"), D("250")),  # just above
        (D("249999.99"), D("250")),
        (D("250000"), D("500")),
        (D("250000.01"), D("500")),
        (D("499999.99"), D("500")),
        (D("500000"), D("1000")),
        (D("500000.01"), D("1000")),
        (D("10000000"), D("1000")),
    ],
)
def test_tier_boundaries(deal: Decimal, expected: Decimal | None) -> None:
    assert _tiered(deal) == expected


def test_tiered_without_deal_value_or_tiers() -> None:
    assert _tiered(None) is None
    assert reward_amount(kind="tiered", fixed=None, percent=None, tiers=(), deal_value=D(1)) is None


def test_fixed_reward() -> None:
    amount = reward_amount(kind="fixed", fixed=D("150.00"), percent=None, tiers=(), deal_value=None)
    assert amount == D("150.00")
    with pytest.raises(ValueError, match="fixed"):
        reward_amount(kind="fixed", fixed=None, percent=None, tiers=(), deal_value=D(1))


@pytest.mark.parametrize(
    ("deal", "percent", "expected"),
    [
        (D("300000"), D("1"), D("3000.00")),  # 300000 x 1 / 100
        (D("1234.56"), D("2.5"), D("30.86")),  # 30.864 -> 30.86
        (D("1000.50"), D("0.5"), D("5.00")),  # 5.0025 -> 5.00
        (D("1.25"), D("10"), D("0.12")),  # 0.125 -> half-even -> 0.12
        (D("1.35"), D("10"), D("0.14")),  # 0.135 -> half-even -> 0.14
        (D("0"), D("3"), D("0.00")),
    ],
)
def test_percent_reward_rounding(deal: Decimal, percent: Decimal, expected: Decimal) -> None:
    amount = reward_amount(kind="percent", fixed=None, percent=percent, tiers=(), deal_value=deal)
    assert amount == expected
    assert amount is not None
    assert amount.as_tuple().exponent == -2


def test_percent_reward_missing_inputs() -> None:
    assert (
        reward_amount(kind="percent", fixed=None, percent=D("2"), tiers=(), deal_value=None) is None
    )
    with pytest.raises(ValueError, match="percent"):
        reward_amount(kind="percent", fixed=None, percent=None, tiers=(), deal_value=D(1))


@pytest.mark.parametrize(
    ("amount", "already", "cap", "expected"),
    [
        (D("100"), D("0"), None, D("100")),  # no cap
        (D("100"), D("0"), D("1000"), D("100")),  # well under
        (D("100"), D("900"), D("1000"), D("100")),  # lands exactly on the cap
        (D("100"), D("950"), D("1000"), D("50")),  # trimmed: 1000 - 950
        (D("100"), D("1000"), D("1000"), D("0")),  # cap reached
        (D("100"), D("1200"), D("1000"), D("0")),  # cap lowered below past awards: no clawback
        (D("-5"), D("0"), None, D("0")),  # never negative
        (D("-5"), D("0"), D("1000"), D("0")),
    ],
)
def test_apply_cap(
    amount: Decimal, already: Decimal, cap: Decimal | None, expected: Decimal
) -> None:
    assert apply_cap(amount, already_awarded=already, cap=cap) == expected
