"""TODO"""

from app.services.webhooks.dispatcher import WebhookDispatcher

__all__ = ["WebhookDispatcher"]
