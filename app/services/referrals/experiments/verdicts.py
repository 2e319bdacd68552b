"""The plain reading of a comparison between two arms, shared by both kinds of experiment."""

from __future__ import annotations

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
