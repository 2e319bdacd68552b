"""What the webhook machinery's own events carry as ``data``."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from app.models.platform import OutputModel


class WebhookTestData(OutputModel):
    endpoint_id: uuid.UUID
    message: str


class DeliveryFailedData(OutputModel):
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: str = Field(description="The event's id (`evt_…`).")
    event_type: str
    attempts: int
    last_status_code: int | None
    last_error: str | None


class EndpointDisabledData(OutputModel):
    endpoint_id: uuid.UUID
    url: str
    reason: str


EVENT_DATA: dict[str, type[BaseModel]] = {
    "webhook.test": WebhookTestData,
    "webhook.delivery_failed": DeliveryFailedData,
    "webhook.endpoint_disabled": EndpointDisabledData,
}
