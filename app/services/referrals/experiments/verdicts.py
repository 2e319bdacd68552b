"""The plain reading of a comparison between two arms, shared by both kinds of experiment."""

from __future__ import annotations

from app.models.referrals.experiments import Comparison
from app.services.analytics import RateComparison

CONFIDENCE = 0.95


def verdict(c: RateComparison, a: str, b: str) -> str:
    if not c.sufficient:
        return "insufficient data"
    assert c.p_value is not None
    significant = c.p_value < 1 - CONFIDENCE
    if c.rate_ratio is None or c.ci_low is None or c.ci_high is None:
        base = f"{b} vs {a}: p={c.p_value:.3g}"
    else:
        base = (
            f"{b} vs {a}: rate ratio {c.rate_ratio:.2f} "
            f"({CONFIDENCE:.0%} CI {c.ci_low:.2f} to {c.ci_high:.2f}), p={c.p_value:.3g}"
        )
    return f"{base}; {'significant' if significant else 'not significant'} at {1 - CONFIDENCE:.2g}"


def comparison(metric: str, a: str, b: str, c: RateComparison) -> Comparison:
    """Arm ``b`` against arm ``a`` on ``metric``, as the results show it."""
    return Comparison(
        metric=metric,
        arm_a=a,
        arm_b=b,
        rate_a=c.rate_a,
        rate_b=c.rate_b,
        rate_ratio=c.rate_ratio,
        ci_low=c.ci_low,
        ci_high=c.ci_high,
        confidence=CONFIDENCE,
        p_value=c.p_value,
        sufficient=c.sufficient,
        verdict=verdict(c, a, b),
        reason=c.reason,
    )
