"""Tables and API schemas. Importing this package registers every table on the metadata."""

from app.models import api_key, contact, event, idempotency, member, touch, webhook, workspace

__all__ = ["api_key", "contact", "event", "idempotency", "member", "touch", "webhook", "workspace"]

from app.models import experiment, referral, reward

__all__ += ["experiment", "referral", "reward"]

from app.models import analytics_settings, score  # noqa: E402

__all__ += ["analytics_settings", "score"]

from app.models import contact_import, engagement, relationship, service_record  # noqa: E402

__all__ += ["contact_import", "engagement", "relationship", "service_record"]
