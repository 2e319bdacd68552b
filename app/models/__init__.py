"""Tables and API schemas, one package per domain.

Importing this package registers every table on the metadata (Alembic and the tests walk
it), whichever module a caller imported first.
"""

from app.models import analytics, contacts, platform, referrals, scores, touches, webhooks

__all__ = ["analytics", "contacts", "platform", "referrals", "scores", "touches", "webhooks"]
