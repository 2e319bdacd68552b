"""Statistics for experiments and the satisfaction model.

Kept free of I/O so that results can be checked by hand and against scipy in tests. Every
function reports "not enough data" explicitly instead of returning numbers that look
authoritative but are not.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import numpy as np
from scipy import stats as sps


def assign_arm(experiment_id: UUID, contact_id: UUID, weights: Sequence[int]) -> int:
    """Index of the arm a contact belongs to in an experiment.

    Derived from a hash rather than a random draw so the assignment is reproducible anywhere
    (any process, any replica, after a restore) without storing state, and independent between
    experiments because the experiment id is part of the key. The exact recipe (sha256 of
    ``"{experiment_id}:{contact_id}"``, first 8 bytes big-endian, modulo the weight total) must
    not change: changing it would silently move referrers between arms mid-experiment.
    """
    if not weights:
        raise ValueError("at least one arm weight is required")
    if any(w <= 0 for w in weights):
        raise ValueError("arm weights must be positive integers")
    digest = hashlib.sha256(f"{experiment_id}:{contact_id}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % sum(weights)
    # A 64-bit value modulo a small total has negligible bias (< total / 2**64).
    return bisect.bisect_right(list(itertools.accumulate(weights)), bucket)


@dataclass(frozen=True)
class RateComparison:
    """Arm B against arm A; ``reason`` explains any missing number."""

    rate_a: float | None
    rate_b: float | None
    rate_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    sufficient: bool
    reason: str | None


def compare_rates(
    events_a: int,
    exposure_a: int,
    events_b: int,
    exposure_b: int,
    *,
    min_exposure: int = 10,
    confidence: float = 0.95,
) -> RateComparison:
    """Poisson rate ratio of B vs A (e.g. referrals per referrer) with CI and p-value.

    Referrals are counts over an exposure (referrers x period), so a rate ratio is the natural
    effect size. The confidence interval uses the log-normal approximation
    exp(ln RR +/- z * sqrt(1/events_a + 1/events_b)); it needs events in both arms, so it is
    omitted otherwise. The p-value uses the exact conditional test: given the total number of
    events, B's share is binomial with p = exposure_b / (exposure_a + exposure_b) under the null
    of equal rates. It stays valid with small or zero counts, which are common in a three-month
    experiment on a small referrer base.
    """
    if min(events_a, exposure_a, events_b, exposure_b) < 0:
        raise ValueError("events and exposures must be >= 0")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    rate_a = events_a / exposure_a if exposure_a > 0 else None
    rate_b = events_b / exposure_b if exposure_b > 0 else None

    def insufficient(reason: str) -> RateComparison:
        return RateComparison(rate_a, rate_b, None, None, None, None, False, reason)

    needed = max(min_exposure, 1)  # a rate needs some exposure whatever the caller asks
    if exposure_a < needed or exposure_b < needed:
        return insufficient(f"each arm needs an exposure of at least {needed}")
    if events_a == 0 and events_b == 0:
        return insufficient("no events in either arm")
    rate_a, rate_b = events_a / exposure_a, events_b / exposure_b

    total = events_a + events_b
    p_null = exposure_b / (exposure_a + exposure_b)
    p_value = float(sps.binomtest(events_b, total, p_null).pvalue)

    if events_a == 0:
        # B's rate over a zero rate is infinite: report no ratio, only the test.
        return RateComparison(
            rate_a, rate_b, None, None, None, p_value, True, "no events in arm A: ratio undefined"
        )
    ratio = rate_b / rate_a
    if events_b == 0:
        return RateComparison(
            rate_a, rate_b, 0.0, None, None, p_value, True, "no events in arm B: no interval"
        )
    z = float(sps.norm.ppf(0.5 + confidence / 2))
    half_width = z * math.sqrt(1 / events_a + 1 / events_b)
    log_ratio = math.log(ratio)
    return RateComparison(
        rate_a,
        rate_b,
        ratio,
        math.exp(log_ratio - half_width),
        math.exp(log_ratio + half_width),
        p_value,
        True,
        None,
    )


@dataclass(frozen=True)
class SatisfactionFit:
    """Coefficients of S = alpha*C + beta*Q + gamma*V with fit quality."""

    alpha: float | None
    beta: float | None
    gamma: float | None
    r_squared: float | None
    n: int
    sufficient: bool
    reason: str | None


def fit_satisfaction(
    rows: Sequence[tuple[float, float, float, float]], *, min_n: int = 10
) -> SatisfactionFit:
    """Least-squares fit of S = alpha*C + beta*Q + gamma*V over feedback rows (C, Q, V, S).

    The model has no intercept, as the seed states it, so the coefficients read directly as
    "points of satisfaction per point of C, Q or V". R^2 is computed as
    1 - SS_res / SS_tot with SS_tot taken around the mean of S, so it is comparable with the
    usual definition; without an intercept it can be negative (the model does worse than the
    mean) and is reported as computed rather than clipped, because that is exactly the warning
    a firm needs. R^2 is None when all S are equal (SS_tot = 0).
    """
    n = len(rows)
    if n < min_n:
        return SatisfactionFit(
            None, None, None, None, n, False, f"at least {min_n} feedback records are needed"
        )
    data = np.asarray(rows, dtype=np.float64).reshape(n, 4)
    if not np.all(np.isfinite(data)):
        raise ValueError("feedback values must be finite")
    design, target = data[:, :3], data[:, 3]
    coef, _, rank, _ = np.linalg.lstsq(design, target, rcond=None)
    if int(rank) < 3:
        # Collinear inputs (e.g. every client rated C and Q identically) admit infinitely many
        # coefficient sets; picking one would pretend to know which factor matters.
        return SatisfactionFit(
            None, None, None, None, n, False, "C, Q and V are collinear: weights not identifiable"
        )
    residuals = target - design @ coef
    ss_res = float(residuals @ residuals)
    centred = target - target.mean()
    ss_tot = float(centred @ centred)
    r_squared = 1.0 - ss_res / ss_tot if ss_tot > 0 else None
    return SatisfactionFit(float(coef[0]), float(coef[1]), float(coef[2]), r_squared, n, True, None)
