"""Analytics tables and schemas: each workspace's reporting settings (costs, thresholds)
and the shapes of the money and people reports. Public face: the names below.
"""

from app.models.analytics.settings import AnalyticsSettings

__all__ = ["AnalyticsSettings"]
