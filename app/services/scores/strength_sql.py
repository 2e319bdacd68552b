"""The relationship-strength computation as SQL: one statement scores a whole workspace.

Each component is a recency-weighted count of activities in the window (an activity counts
``0.5 ** (age_days / 90)``, the same curve as
:func:`app.services.analytics.formulas.recency_weight`),
mapped onto 0..100 by ``100 * (1 - exp(-weighted / target))`` (the curve of
:func:`app.services.analytics.formulas.saturating_score`) and combined with the workspace's weights
(:func:`app.services.analytics.formulas.relationship_strength`). The formulas are repeated
here in SQL
because scoring 100,000 contacts one Python call at a time is what this module exists to
avoid; the tests recompute stored rows with the Python functions and compare.

What counts:

* communication: every logged interaction (any channel, any direction), by ``occurred_at``;
* reciprocity: referrals the contact sent us (``received`` with them as source) plus
  referrals we sent them (``given`` with them as partner), by ``received_at``;
* appreciation: engagement activities attended, delivered appreciation touches (a card,
  gift or event invitation, or any touch of the built-in advocate-appreciation plan) and
  rewards issued to them as referrer.
"""

from __future__ import annotations

from sqlalchemy import TextClause, text

HALF_LIFE_DAYS = 90.0
#: Activities per year that an evenly spread, healthy relationship has; see ``targets``.
CADENCE_PER_YEAR = {"communication": 12, "reciprocity": 2, "appreciation": 4}
#: A history row is written when the score moved at least this much since the last one.
HISTORY_STEP = 0.5
#: ``previous_score`` is the score of the last computation at least this old, so a second
#: recompute on the same day does not reset "change since yesterday" to zero.
BASELINE_HOURS = 20
APPRECIATION_CHANNELS = ("card", "gift", "event_invite")
APPRECIATION_PLAN_KEY = "advocate_appreciation"


def _weight(column: str) -> str:
    """SQL for the recency weight of an activity at ``column``, as of ``:at``."""
    age = f"greatest(extract(epoch FROM (CAST(:at AS timestamptz) - {column}))::float8, 0.0)"
    return f"power(0.5::float8, {age} / :half_life_seconds)"


def _in_window(column: str) -> str:
    return f"{column} > CAST(:start AS timestamptz) AND {column} <= CAST(:at AS timestamptz)"


_ACTIVITY_CTES = f"""
comm AS (
    SELECT i.contact_id, count(*) AS n, sum({_weight("i.occurred_at")}) AS w
      FROM interactions i
     WHERE i.workspace_id = :ws AND {_in_window("i.occurred_at")}
     GROUP BY i.contact_id
),
recv AS (
    SELECT r.source_contact_id AS contact_id, count(*) AS n, sum({_weight("r.received_at")}) AS w
      FROM referrals r
     WHERE r.workspace_id = :ws AND r.direction = 'received'
       AND r.source_contact_id IS NOT NULL AND {_in_window("r.received_at")}
     GROUP BY r.source_contact_id
),
gave AS (
    SELECT r.partner_contact_id AS contact_id, count(*) AS n, sum({_weight("r.received_at")}) AS w
      FROM referrals r
     WHERE r.workspace_id = :ws AND r.direction = 'given'
       AND r.partner_contact_id IS NOT NULL AND {_in_window("r.received_at")}
     GROUP BY r.partner_contact_id
),
attended AS (
    SELECT e.contact_id, count(*) AS n, sum({_weight("e.t")}) AS w
      FROM (SELECT p.contact_id, coalesce(p.attended_at, CAST(a.date AS timestamptz)) AS t
              FROM engagement_participants p
              JOIN engagement_activities a
                ON a.workspace_id = p.workspace_id AND a.id = p.activity_id
             WHERE p.workspace_id = :ws AND p.status = 'attended') e
     WHERE {_in_window("e.t")}
     GROUP BY e.contact_id
),
thanked AS (
    SELECT t.contact_id, count(*) AS n, sum({_weight("t.t")}) AS w
      FROM (SELECT tc.contact_id, coalesce(tc.finished_at, tc.due_at) AS t
              FROM touches tc
             WHERE tc.workspace_id = :ws AND tc.status IN ('sent', 'completed')
               AND (tc.channel IN {APPRECIATION_CHANNELS!r}
                    OR tc.plan_id IN (SELECT tp.id FROM touch_plans tp
                                       WHERE tp.workspace_id = :ws
                                         AND tp.builtin_key = '{APPRECIATION_PLAN_KEY}'))) t
     WHERE {_in_window("t.t")}
     GROUP BY t.contact_id
),
rewarded AS (
    SELECT rw.referrer_id AS contact_id, count(*) AS n, sum({_weight("rw.issued_at")}) AS w
      FROM rewards rw
     WHERE rw.workspace_id = :ws AND rw.status = 'issued' AND rw.referrer_id IS NOT NULL
       AND {_in_window("rw.issued_at")}
     GROUP BY rw.referrer_id
),
counted AS (
    SELECT c.id AS contact_id,
           coalesce(comm.n, 0) AS interactions,
           coalesce(comm.w, 0.0) AS communication_weighted,
           coalesce(recv.n, 0) AS referrals_received,
           coalesce(gave.n, 0) AS referrals_given,
           coalesce(recv.w, 0.0) + coalesce(gave.w, 0.0) AS reciprocity_weighted,
           coalesce(attended.n, 0) AS events_attended,
           coalesce(thanked.n, 0) AS appreciation_touches,
           coalesce(rewarded.n, 0) AS rewards_issued,
           coalesce(attended.w, 0.0) + coalesce(thanked.w, 0.0) + coalesce(rewarded.w, 0.0)
               AS appreciation_weighted
      FROM contacts c
      LEFT JOIN comm ON comm.contact_id = c.id
      LEFT JOIN recv ON recv.contact_id = c.id
      LEFT JOIN gave ON gave.contact_id = c.id
      LEFT JOIN attended ON attended.contact_id = c.id
      LEFT JOIN thanked ON thanked.contact_id = c.id
      LEFT JOIN rewarded ON rewarded.contact_id = c.id
     WHERE c.workspace_id = :ws
       AND (CAST(:contact_id AS uuid) IS NULL OR c.id = CAST(:contact_id AS uuid))
),
components AS (
    SELECT counted.*,
           100.0 * (1.0 - exp(-communication_weighted / :target_communication)) AS communication,
           100.0 * (1.0 - exp(-reciprocity_weighted / :target_reciprocity)) AS reciprocity,
           100.0 * (1.0 - exp(-appreciation_weighted / :target_appreciation)) AS appreciation
      FROM counted
),
scored AS (
    SELECT components.*,
           least(100.0, greatest(0.0, :w_communication * communication
                 + :w_reciprocity * reciprocity + :w_appreciation * appreciation)) AS score
      FROM components
)"""

#: The counts behind a score, stored in ``contact_scores`` beside it.
COUNT_COLUMNS = (
    "interactions",
    "referrals_received",
    "referrals_given",
    "events_attended",
    "appreciation_touches",
    "rewards_issued",
    "communication_weighted",
    "reciprocity_weighted",
    "appreciation_weighted",
)
_COUNT_LIST = ", ".join(COUNT_COLUMNS)
_COUNT_LIST_S = ", ".join(f"s.{c}" for c in COUNT_COLUMNS)
_COUNT_SET_D = ",\n           ".join(f"{c} = d.{c}" for c in COUNT_COLUMNS)
_COUNT_SET_EXCLUDED = ",\n           ".join(f"{c} = EXCLUDED.{c}" for c in COUNT_COLUMNS)

#: Score one contact (``:contact_id``) or all, without writing anything.
SCORE_SELECT: TextClause = text(f"WITH {_ACTIVITY_CTES}\nSELECT * FROM scored")

#: Score every contact of ``:ws`` and store the result; returns (scored, history rows).
RECOMPUTE: TextClause = text(
    f"""
WITH {_ACTIVITY_CTES},
fresh AS (
    SELECT s.contact_id, s.score, s.communication, s.reciprocity, s.appreciation,
           {_COUNT_LIST_S},
           old.contact_id IS NULL AS is_new,
           old.computed_at <= CAST(:baseline AS timestamptz) AS rolls,
           old.score AS old_score, old.computed_at AS old_computed_at,
           old.previous_score AS old_previous_score,
           old.previous_computed_at AS old_previous_computed_at,
           old.history_score AS old_history_score
      FROM scored s
      LEFT JOIN contact_scores old
        ON old.workspace_id = :ws AND old.contact_id = s.contact_id
),
decided AS (
    SELECT fresh.*,
           CASE WHEN is_new THEN NULL WHEN rolls THEN old_score
                ELSE old_previous_score END AS previous_score,
           CASE WHEN is_new THEN NULL WHEN rolls THEN old_computed_at
                ELSE old_previous_computed_at END AS previous_computed_at,
           (old_history_score IS NULL OR abs(score - old_history_score) >= :history_step)
               AS writes_history
      FROM fresh
),
updated AS (
    UPDATE contact_scores AS cs SET
           score = d.score,
           communication = d.communication,
           reciprocity = d.reciprocity,
           appreciation = d.appreciation,
           {_COUNT_SET_D},
           computed_at = CAST(:at AS timestamptz),
           previous_score = d.previous_score,
           previous_computed_at = d.previous_computed_at,
           change = coalesce(d.score - d.previous_score, 0.0),
           history_score = CASE WHEN d.writes_history THEN d.score ELSE d.old_history_score END
      FROM decided d
     WHERE cs.workspace_id = :ws AND cs.contact_id = d.contact_id AND NOT d.is_new
    RETURNING 1
),
inserted AS (
    INSERT INTO contact_scores AS cs
           (workspace_id, contact_id, score, communication, reciprocity, appreciation,
            {_COUNT_LIST}, computed_at, previous_score, previous_computed_at, change,
            history_score)
    SELECT CAST(:ws AS uuid), contact_id, score, communication, reciprocity, appreciation,
           {_COUNT_LIST}, CAST(:at AS timestamptz), NULL, NULL, 0.0, score
      FROM decided
     WHERE is_new
    ON CONFLICT (workspace_id, contact_id) DO UPDATE SET
           score = EXCLUDED.score,
           communication = EXCLUDED.communication,
           reciprocity = EXCLUDED.reciprocity,
           appreciation = EXCLUDED.appreciation,
           {_COUNT_SET_EXCLUDED},
           computed_at = EXCLUDED.computed_at,
           history_score = EXCLUDED.history_score
    RETURNING 1
),
history AS (
    INSERT INTO contact_score_history
           (workspace_id, contact_id, computed_at, score, communication, reciprocity,
            appreciation)
    SELECT CAST(:ws AS uuid), contact_id, CAST(:at AS timestamptz), score, communication,
           reciprocity, appreciation
      FROM decided
     WHERE writes_history
    ON CONFLICT (workspace_id, contact_id, computed_at) DO UPDATE SET
           score = EXCLUDED.score,
           communication = EXCLUDED.communication,
           reciprocity = EXCLUDED.reciprocity,
           appreciation = EXCLUDED.appreciation
    RETURNING 1
)
SELECT (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted) AS scored,
       (SELECT count(*) FROM history) AS history
"""
)

#: The parameters every score of the run shares, stored once (``score_params``).
PARAMS_UPSERT: TextClause = text(
    """
INSERT INTO score_params (workspace_id, computed_at, window_days, half_life_days, weights,
                          targets)
VALUES (CAST(:ws AS uuid), CAST(:at AS timestamptz), CAST(:window_days AS integer),
        CAST(:half_life_days AS float8), CAST(:weights AS jsonb), CAST(:targets AS jsonb))
ON CONFLICT (workspace_id) DO UPDATE SET
       computed_at = EXCLUDED.computed_at, window_days = EXCLUDED.window_days,
       half_life_days = EXCLUDED.half_life_days, weights = EXCLUDED.weights,
       targets = EXCLUDED.targets
"""
)

#: Memory for the recompute's hash aggregates and joins (this transaction only): with the
#: server's default 4 MB they spill to disk or fall back to sorting at 100,000 contacts.
WORK_MEM: TextClause = text("SET LOCAL work_mem = '64MB'")

#: One recompute per workspace at a time (nightly job, on-demand call, several replicas).
LOCK_KEY = "hashtextextended('rapport.scores:' || CAST(CAST(:ws AS uuid) AS text), 0)"
WORKSPACE_LOCK: TextClause = text(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")
