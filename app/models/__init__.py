"""Tables and API schemas. Importing this package registers every table on the metadata."""

from app.models import api_key, contact, event, idempotency, member, touch, webhook, workspace

__all__ = ["api_key", "contact", "event", "idempotency", "member", "touch", "webhook", "workspace"]

from app.models import experiment, referral, reward

__all__ += ["experiment", "referral", "reward"]
