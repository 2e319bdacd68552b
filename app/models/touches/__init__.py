"""TODO"""

from app.models.touches import plan_schemas, schemas, tables

__all__ = ["plan_schemas", "schemas", "tables"]
