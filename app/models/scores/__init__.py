"""TODO"""

from app.models.scores import schemas, tables

__all__ = ["schemas", "tables"]
