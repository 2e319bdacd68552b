"""TODO"""

from app.models.contacts import (
    engagement,
    imports,
    log_schemas,
    relationships,
    schemas,
    service_records,
    tables,
)

__all__ = [
    "engagement",
    "imports",
    "log_schemas",
    "relationships",
    "schemas",
    "service_records",
    "tables",
]
