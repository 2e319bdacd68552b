"""TODO"""

from app.models.webhooks import tables

__all__ = ["tables"]
