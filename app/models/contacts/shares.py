"""API schemas of contact shares (the table is ``ContactShare`` in ``tables``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from app.models.platform import OutputModel


class ContactShareRead(OutputModel):
    """A member the contact is shared with besides its owner: under the workspace's `own`
    visibility, they see the contact and its records as the owner does."""

    contact_id: uuid.UUID
    member_id: uuid.UUID
    created_at: datetime
