"""Touches: touch plans and the built-in ones, enrolments, when steps fall (timing, send
windows), planning ahead, freshness, rendering, releasing due touches to senders and
tasks to members as events, outcomes and settling, what the contact's wishes
(do-not-contact, consent) do to them, and the calendar feed. Public face: the names
below; imports platform only.
"""

from app.services.touches.audiences import (
    SYNC_LIMIT,
    auto_enroll,
    auto_enroll_insert,
    auto_enroll_pick,
)
from app.services.touches.builtin_plans import seed_builtin_plans
from app.services.touches.calendar import FeedEntry, add_feed_source
from app.services.touches.enrollment_status import pause_on_reply
from app.services.touches.enrollments import enroll_many
from app.services.touches.holds import (
    hold_for_do_not_contact,
    reconsider_consent,
    resume_after_do_not_contact,
)
from app.services.touches.jobs import emit_touches, settle_touches, top_up_touches
from app.services.touches.outreach import create_touch
from app.services.touches.planning import materialize
from app.services.touches.referrer_notes import suggested_message, thank_you_key, thank_you_subject
from app.services.touches.replan import replan_contact, replan_contacts
from app.services.touches.timing import observance_date
from app.services.touches.window import business_day_after, due_at

__all__ = [
    "SYNC_LIMIT",
    "FeedEntry",
    "add_feed_source",
    "auto_enroll",
    "auto_enroll_insert",
    "auto_enroll_pick",
    "business_day_after",
    "create_touch",
    "due_at",
    "emit_touches",
    "enroll_many",
    "hold_for_do_not_contact",
    "materialize",
    "observance_date",
    "pause_on_reply",
    "reconsider_consent",
    "replan_contact",
    "replan_contacts",
    "resume_after_do_not_contact",
    "seed_builtin_plans",
    "settle_touches",
    "suggested_message",
    "thank_you_key",
    "thank_you_subject",
    "top_up_touches",
]
