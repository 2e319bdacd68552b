"""TODO"""

from app.models.webhooks.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = ["WebhookAttempt", "WebhookDelivery", "WebhookEndpoint"]
