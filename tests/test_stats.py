"""Experiment assignment, rate comparison and the satisfaction fit."""

from __future__ import annotations

import hashlib
import math
import random
from uuid import UUID

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from app.services.analytics.stats import assign_arm, compare_rates, fit_satisfaction

_uuids = st.uuids()


# --- assign_arm ----------------------------------------------------------------------------


def test_assign_arm_follows_documented_recipe() -> None:
    exp = UUID("00000000-0000-0000-0000-000000000001")
    contact = UUID("00000000-0000-0000-0000-000000000002")
    digest = hashlib.sha256(f"{exp}:{contact}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % 4
    expected = 0 if bucket < 1 else 1  # weights [1, 3] -> cumulative [1, 4]
    assert assign_arm(exp, contact, [1, 3]) == expected


def test_assign_arm_pinned_values() -> None:
    # Pinned literals: an accidental change of the recipe would move referrers between arms
    # mid-experiment, so it must fail loudly here.
    exp = UUID(int=1)
    contacts = [UUID(int=k) for k in range(2, 12)]
    assert [assign_arm(exp, c, [1, 1]) for c in contacts] == [0, 0, 0, 1, 1, 1, 0, 1, 0, 0]
    assert [assign_arm(exp, c, [1, 2, 3]) for c in contacts] == [1, 2, 1, 1, 1, 1, 2, 2, 1, 1]


@settings(database=None)
@given(exp=_uuids, contact=_uuids, weights=st.lists(st.integers(1, 20), min_size=1, max_size=5))
def test_assign_arm_stable_and_in_range(exp: UUID, contact: UUID, weights: list[int]) -> None:
    arm = assign_arm(exp, contact, weights)
    assert 0 <= arm < len(weights)
    assert assign_arm(exp, contact, weights) == arm
    assert assign_arm(UUID(str(exp)), UUID(str(contact)), tuple(weights)) == arm


def _contacts(n: int, seed: int) -> list[UUID]:
    rng = random.Random(seed)
    return [UUID(int=rng.getrandbits(128), version=4) for _ in range(n)]


@settings(database=None, max_examples=5, deadline=None)
@given(exp=_uuids)
def test_assign_arm_even_split(exp: UUID) -> None:
    # 20,000 draws at p=0.5: sd = sqrt(0.25 / 20000) = 0.35 %, so 48..52 % is +/- 5.7 sd.
    contacts = _contacts(20_000, seed=1)
    in_b = sum(assign_arm(exp, c, [1, 1]) for c in contacts)
    assert 0.48 <= in_b / len(contacts) <= 0.52


@settings(database=None, max_examples=5, deadline=None)
@given(exp=_uuids)
def test_assign_arm_weighted_split(exp: UUID) -> None:
    # p=0.25: sd = sqrt(0.1875 / 20000) = 0.31 %, so 23.5..26.5 % is +/- 4.9 sd.
    contacts = _contacts(20_000, seed=2)
    in_a = sum(1 for c in contacts if assign_arm(exp, c, [1, 3]) == 0)
    assert 0.235 <= in_a / len(contacts) <= 0.265


def test_assign_arm_independent_between_experiments() -> None:
    contacts = _contacts(5_000, seed=3)
    e1, e2 = UUID(int=1), UUID(int=2)
    same = sum(assign_arm(e1, c, [1, 1]) == assign_arm(e2, c, [1, 1]) for c in contacts)
    assert 0.45 <= same / len(contacts) <= 0.55  # ~50 % agreement, not 100 %


@pytest.mark.parametrize("weights", [[], [0, 1], [1, -1]])
def test_assign_arm_rejects_bad_weights(weights: list[int]) -> None:
    with pytest.raises(ValueError, match="weight"):
        assign_arm(UUID(int=1), UUID(int=2), weights)


# --- compare_rates -------------------------------------------------------------------------


def test_compare_rates_known_case() -> None:
    # A: 30 referrals / 100 referrers, B: 50 / 100.
    result = compare_rates(30, 100, 50, 100)
    assert result.sufficient
    assert result.reason is None
    assert result.rate_a == pytest.approx(0.30)
    assert result.rate_b == pytest.approx(0.50)
    # (50/100) / (30/100) = 5/3 = 1.6667
    assert result.rate_ratio == pytest.approx(1.6667, abs=1e-4)
    # exp(ln(5/3) +/- 1.959964 x sqrt(1/30 + 1/50)); sqrt(0.05333) = 0.23094
    half = sps.norm.ppf(0.975) * math.sqrt(1 / 30 + 1 / 50)
    assert result.ci_low == pytest.approx(math.exp(math.log(5 / 3) - half))
    assert result.ci_high == pytest.approx(math.exp(math.log(5 / 3) + half))
    assert result.ci_low == pytest.approx(1.060, abs=1e-3)
    assert result.ci_high == pytest.approx(2.621, abs=1e-3)
    # Equal exposures: under H0 B's share of the 80 events is Binomial(80, 0.5).
    expected_p = sps.binomtest(50, 80, 0.5).pvalue
    assert result.p_value == pytest.approx(expected_p)
    assert result.p_value is not None
    assert result.p_value < 0.05


def test_compare_rates_unequal_exposure() -> None:
    # A: 20 / 100 = 0.2, B: 30 / 300 = 0.1 -> ratio 0.5; null share 300 / 400 = 0.75
    result = compare_rates(20, 100, 30, 300)
    assert result.rate_ratio == pytest.approx(0.5)
    assert result.p_value == pytest.approx(sps.binomtest(30, 50, 0.75).pvalue)
    assert result.ci_low is not None
    assert result.ci_high is not None
    assert result.ci_low < 0.5 < result.ci_high


def test_compare_rates_wider_confidence_widens_interval() -> None:
    r95 = compare_rates(30, 100, 50, 100)
    r99 = compare_rates(30, 100, 50, 100, confidence=0.99)
    assert (r99.ci_low or 0) < (r95.ci_low or 0) < (r95.ci_high or 0) < (r99.ci_high or 0)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((3, 9, 5, 100), "exposure"),  # A below min_exposure
        ((3, 100, 5, 9), "exposure"),  # B below min_exposure
        ((0, 0, 0, 0), "exposure"),
        ((0, 100, 0, 100), "no events"),
    ],
)
def test_compare_rates_insufficient(args: tuple[int, int, int, int], reason: str) -> None:
    result = compare_rates(*args)
    assert not result.sufficient
    assert result.reason is not None
    assert reason in result.reason
    assert (result.rate_ratio, result.ci_low, result.ci_high, result.p_value) == (None,) * 4


def test_compare_rates_insufficient_keeps_defined_rates() -> None:
    result = compare_rates(0, 100, 0, 100)
    assert (result.rate_a, result.rate_b) == (0.0, 0.0)
    assert compare_rates(0, 0, 1, 5).rate_a is None


def test_compare_rates_zero_events_in_a() -> None:
    result = compare_rates(0, 50, 6, 50)
    assert result.sufficient
    assert (result.rate_ratio, result.ci_low, result.ci_high) == (None, None, None)
    assert result.p_value == pytest.approx(sps.binomtest(6, 6, 0.5).pvalue)  # 2 x 0.5^6
    assert result.p_value == pytest.approx(2 * 0.5**6)


def test_compare_rates_zero_events_in_b() -> None:
    result = compare_rates(6, 50, 0, 50)
    assert result.sufficient
    assert (result.rate_ratio, result.ci_low, result.ci_high) == (0.0, None, None)
    assert result.p_value == pytest.approx(sps.binomtest(0, 6, 0.5).pvalue)


@pytest.mark.parametrize("args", [(-1, 10, 1, 10), (1, 10, 1, -10)])
def test_compare_rates_rejects_negative(args: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError, match=">= 0"):
        compare_rates(*args)


def test_compare_rates_rejects_bad_confidence() -> None:
    with pytest.raises(ValueError, match="confidence"):
        compare_rates(1, 10, 1, 10, confidence=1.0)


# --- fit_satisfaction ----------------------------------------------------------------------


def _ratings(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, 11, size=(n, 3)).astype(float)


def test_fit_recovers_exact_coefficients() -> None:
    cqv = _ratings(50, seed=10)
    s = 0.5 * cqv[:, 0] + 0.3 * cqv[:, 1] + 0.2 * cqv[:, 2]
    rows = [(c, q, v, t) for (c, q, v), t in zip(cqv.tolist(), s.tolist(), strict=True)]
    fit = fit_satisfaction(rows)
    assert (fit.sufficient, fit.reason, fit.n) == (True, None, 50)
    assert fit.alpha == pytest.approx(0.5, abs=1e-9)
    assert fit.beta == pytest.approx(0.3, abs=1e-9)
    assert fit.gamma == pytest.approx(0.2, abs=1e-9)
    assert fit.r_squared == pytest.approx(1.0, abs=1e-9)


def test_fit_with_small_noise() -> None:
    cqv = _ratings(200, seed=11)
    noise = np.random.default_rng(12).normal(0, 0.1, size=200)
    s = 0.5 * cqv[:, 0] + 0.3 * cqv[:, 1] + 0.2 * cqv[:, 2] + noise
    rows = [(c, q, v, t) for (c, q, v), t in zip(cqv.tolist(), s.tolist(), strict=True)]
    fit = fit_satisfaction(rows)
    assert fit.sufficient
    assert fit.alpha == pytest.approx(0.5, abs=0.05)
    assert fit.beta == pytest.approx(0.3, abs=0.05)
    assert fit.gamma == pytest.approx(0.2, abs=0.05)
    assert fit.r_squared is not None
    assert 0.9 < fit.r_squared < 1.0


def test_fit_insufficient_below_min_n() -> None:
    rows = [(1.0, 2.0, 3.0, 2.0)] * 9
    fit = fit_satisfaction(rows)
    assert (fit.sufficient, fit.n) == (False, 9)
    assert "10" in (fit.reason or "")
    assert (fit.alpha, fit.beta, fit.gamma, fit.r_squared) == (None,) * 4
    assert fit_satisfaction([]).n == 0
    assert fit_satisfaction(rows, min_n=5).sufficient is False  # identical rows: rank 1


def test_fit_rank_deficient() -> None:
    # Q always equals C: only alpha + beta is identifiable.
    cqv = _ratings(30, seed=13)
    rows = [(c, c, v, 0.5 * c + 0.3 * c + 0.2 * v) for c, _, v in cqv.tolist()]
    fit = fit_satisfaction(rows)
    assert (fit.sufficient, fit.n) == (False, 30)
    assert "collinear" in (fit.reason or "")
    assert (fit.alpha, fit.beta, fit.gamma, fit.r_squared) == (None,) * 4


def test_fit_r_squared_can_be_negative() -> None:
    # S is flat (~10) while the inputs swing 1..10: with no intercept the fit does worse than
    # the mean of S, so SS_res > SS_tot.
    cqv = _ratings(40, seed=14)
    s = 10.0 + np.random.default_rng(15).normal(0, 0.1, size=40)
    rows = [(c, q, v, t) for (c, q, v), t in zip(cqv.tolist(), s.tolist(), strict=True)]
    fit = fit_satisfaction(rows)
    assert fit.sufficient
    assert fit.r_squared is not None
    assert fit.r_squared < 0


def test_fit_constant_satisfaction_has_no_r_squared() -> None:
    cqv = _ratings(20, seed=16)
    rows = [(c, q, v, 0.0) for c, q, v in cqv.tolist()]
    fit = fit_satisfaction(rows)
    assert (fit.sufficient, fit.r_squared) == (True, None)
    assert fit.alpha == pytest.approx(0.0, abs=1e-12)


def test_fit_rejects_non_finite() -> None:
    rows = [(1.0, 2.0, 3.0, 4.0)] * 11 + [(1.0, float("nan"), 3.0, 4.0)]
    with pytest.raises(ValueError, match="finite"):
        fit_satisfaction(rows)
