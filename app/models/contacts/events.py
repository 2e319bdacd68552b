"""What the contacts domain's events carry as ``data``: the schemas of their webhooks.

The services build each payload through these models (``contact.created`` and
``contact.updated`` are the contact as ``GET /v1/contacts/{id}`` answers it), and the
OpenAPI ``webhooks`` section documents each type with the same model
(``app.routers.webhooks.event_schemas``).
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from app.models.contacts.reads import ContactRead
from app.models.platform import OutputModel


class ContactUpdatedData(ContactRead):
    changed_fields: list[str] = Field(
        description="The fields this change set.", examples=[["job_title"]]
    )


class ContactDeletedData(OutputModel):
    id: uuid.UUID = Field(description="The erased contact.")


class ContactMergedData(OutputModel):
    id: uuid.UUID = Field(description="The contact that remains.")
    merged_id: uuid.UUID = Field(description="The contact folded into it, now gone.")


EVENT_DATA: dict[str, type[BaseModel]] = {
    "contact.created": ContactRead,
    "contact.updated": ContactUpdatedData,
    "contact.deleted": ContactDeletedData,
    "contact.merged": ContactMergedData,
}
