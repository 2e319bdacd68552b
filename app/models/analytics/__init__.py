"""TODO"""

from app.models.analytics.settings import AnalyticsSettings

__all__ = ["AnalyticsSettings"]
