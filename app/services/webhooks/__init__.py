"""Webhooks: endpoints (SSRF-checked), deliveries (made by the outbox with each event, see
``app.services.platform.fanout``), the dispatcher that claims and sends them signed, with
retries and endpoint health. Public face: the names below; imports platform only.
"""

from app.services.webhooks.dispatcher import WebhookDispatcher

__all__ = ["WebhookDispatcher"]
