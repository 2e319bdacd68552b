"""The scheduler's jobs, in the order each tick runs them, from every domain's public face.

Planning runs first so a past-dated enrolment too big to plan inside its request still
fires in the same tick. The nightly scores come last: on the tick a big workspace's
night comes round they take seconds, and the touch and follow-up jobs should not wait
behind them. The runner is ``app.services.platform.scheduler``.
"""

from __future__ import annotations

from app.services import contacts, platform, referrals, scores, touches

JOBS: list[platform.Job] = [
    platform.Job("touches.top_up", touches.top_up_touches),
    platform.Job("touches.emit_due", touches.emit_touches),
    platform.Job("touches.settle", touches.settle_touches),
    platform.Job("referrals.follow_up_overdue", referrals.follow_up_job),
    platform.Job("idempotency.purge_expired", platform.purge_idempotency_keys),
    platform.Job("audit.purge_expired", platform.purge_audit_log),
    platform.Job("contacts.imports", contacts.resume_imports),
    platform.Job("scores.agenda_ready", scores.agenda_ready_job),
    platform.Job("scores.nightly", scores.NightlyScoresJob()),
]
