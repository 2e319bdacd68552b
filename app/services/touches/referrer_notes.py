"""What Rapport suggests saying to a referrer: status notes and the thank-you.

Plain functions of the people involved, with no database access, so that both the
referral flow (``notices``) and erasure (``erasure``, rewording a
thank-you whose referred person is erased) use the same wording.
"""

from __future__ import annotations

import uuid

from app.models.contacts import Contact

_UPDATES = {
    "contacted": "I have reached out to {referred} and will keep you posted.",
    "meeting": "I have met with {referred}. Thank you for the introduction!",
    "agreement": "{referred} and I have reached an agreement. Your referral made this possible.",
    "closed": "{referred}'s {service} has closed. Thank you so much for your trust!",
    "lost": (
        "{referred} decided not to go ahead for now. Thank you for thinking of me; "
        "I am always grateful for an introduction."
    ),
}


def first_name(contact: Contact | None, fallback: str) -> str:
    if contact is None:
        return fallback
    return contact.first_name or contact.company_name or fallback


def suggested_message(
    stage: str, referrer: Contact | None, referred: Contact | None, service: str | None
) -> str:
    """A short status note to the referrer, in the first person of the member handling it."""
    greeting = f"Hi {first_name(referrer, 'there')},"
    referred_name = first_name(referred, "the person you referred")
    if stage == "received":
        body = f"thank you for referring {referred_name}! I will be in touch with them shortly."
        return f"{greeting} {body}"
    text = _UPDATES[stage].format(referred=referred_name, service=service or "deal")
    return f"{greeting} a quick update: {text}"


def thank_you_key(referral_id: uuid.UUID) -> str:
    """The ``occurrence_key`` of a referral's thank-you touch: what it is about."""
    return f"referral:{referral_id}"


def thank_you_subject(referred: Contact | None) -> str:
    return f"Thank you for referring {first_name(referred, 'a friend')}"
