"""TODO"""

from app.models.analytics import people_schemas, schemas, settings

__all__ = ["people_schemas", "schemas", "settings"]
