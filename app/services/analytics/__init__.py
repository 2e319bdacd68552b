"""TODO"""

from app.services.analytics.formulas import (
    Tier,
    apply_cap,
    conversion_rate,
    recency_weight,
    reward_amount,
    roi_percent,
)
from app.services.analytics.settings import get_settings
from app.services.analytics.stats import RateComparison, assign_arm, compare_rates

__all__ = [
    "RateComparison",
    "Tier",
    "apply_cap",
    "assign_arm",
    "compare_rates",
    "conversion_rate",
    "get_settings",
    "recency_weight",
    "reward_amount",
    "roi_percent",
]
