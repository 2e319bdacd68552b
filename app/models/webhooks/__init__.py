"""Webhook tables and schemas: endpoints, deliveries (one per event and endpoint) and every
attempt made. Public face: the names below.
"""

from app.models.webhooks.events import EVENT_DATA
from app.models.webhooks.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = ["EVENT_DATA", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint"]
