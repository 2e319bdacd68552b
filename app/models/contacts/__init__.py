"""Contact tables and schemas: people and businesses, their CRM ids, observances, the
communication log, relationships, service records, engagement activities and import
jobs. Public face: the names below.
"""

from app.models.contacts.engagement import (
    ActivityCreate,
    EngagementActivity,
    EngagementParticipant,
    ParticipantsSet,
)
from app.models.contacts.events import EVENT_DATA
from app.models.contacts.imports import ContactImport, ContactImportChunk
from app.models.contacts.inputs import ContactCreate
from app.models.contacts.log_schemas import (
    ENGAGING_DIRECTIONS,
    InteractionChannel,
    ObservanceCreate,
)
from app.models.contacts.relationships import ContactRelationship, RelationshipCreate
from app.models.contacts.service_records import ServiceRecord, ServiceRecordCreate
from app.models.contacts.tables import (
    ADVOCACY_STAGES,
    AdvocacyStage,
    Contact,
    ContactExternalId,
    ContactShare,
    Interaction,
    Observance,
    Segment,
    display_name_sql,
)

__all__ = [
    "ADVOCACY_STAGES",
    "ENGAGING_DIRECTIONS",
    "EVENT_DATA",
    "ActivityCreate",
    "AdvocacyStage",
    "Contact",
    "ContactCreate",
    "ContactExternalId",
    "ContactImport",
    "ContactImportChunk",
    "ContactRelationship",
    "ContactShare",
    "EngagementActivity",
    "EngagementParticipant",
    "Interaction",
    "InteractionChannel",
    "Observance",
    "ObservanceCreate",
    "ParticipantsSet",
    "RelationshipCreate",
    "Segment",
    "ServiceRecord",
    "ServiceRecordCreate",
    "display_name_sql",
]
