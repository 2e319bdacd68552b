"""Analytics: referral value and ROI, the funnel and lead-source mix, team performance,
allied resources, the satisfaction model, engagement vs advocacy; and the pure formulas
and statistics other domains reuse (reward amounts, recency weights, arm assignment,
exact rate comparisons). Public face: the names below; imports platform only.
"""

from app.services.analytics.formulas import (
    Tier,
    apply_cap,
    conversion_rate,
    recency_weight,
    reward_amount,
    roi_percent,
)
from app.services.analytics.funnel import funnel as funnel_report
from app.services.analytics.period import resolve_period
from app.services.analytics.settings import get_settings
from app.services.analytics.stats import RateComparison, assign_arm, compare_rates

__all__ = [
    "RateComparison",
    "Tier",
    "apply_cap",
    "assign_arm",
    "compare_rates",
    "conversion_rate",
    "funnel_report",
    "get_settings",
    "recency_weight",
    "resolve_period",
    "reward_amount",
    "roi_percent",
]
