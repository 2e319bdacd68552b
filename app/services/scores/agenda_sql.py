"""The agenda's statements: one gathers every kind of item of a member's day with the
contact each is about, one the member's decisions on them.

Each row carries what ranking needs as columns (``key``, ``deal``: a follow-up's expected
value, ``ref_id``: a thank's open thank-you touch) and the rest, only read for the items
shown, as JSON text (``info``).

Each arm of ``ITEMS`` reads one domain's rows through an index that starts with the
workspace and narrows to the member (a touch's assignee, a contact's or referral's owner)
or to the day (birthdays by month and day, referrals by receipt), so the cost follows the
member's work, not the size of the workspace. Every arm carries the request's record
visibility (``visible_sql``), so a viewer under ``own`` gets only what they may see.
``FIGURES`` then reads the history of only the contacts on the agenda.
"""

from __future__ import annotations

from sqlalchemy import text

from app.driver import DriverStatement
from app.models.contacts import display_name_sql
from app.services.platform import referral_visible_sql, visible_sql

#: The referral's owner, or the referrer's owner when the referral names none (written
#: as an OR so the referral's own column can drive the plan).
_REFERRAL_OWNER = """(r.owner_id = :member OR (r.owner_id IS NULL AND EXISTS (
       SELECT 1 FROM contacts src WHERE src.workspace_id = r.workspace_id
          AND src.id = r.source_contact_id AND src.owner_id = :member)))"""
_TOUCH_DONE = "('sent', 'completed')"
#: How the agenda names a contact: its display name, as every list does.
_WHO = display_name_sql("cx")

ITEMS = DriverStatement(
    text(
        f"""
WITH items AS (
SELECT 'task' AS kind, t.id AS record_id, t.contact_id, t.due_at,
       'task:' || CAST(t.id AS text) AS key, CAST(NULL AS numeric) AS deal,
       CAST(NULL AS uuid) AS ref_id,
       CAST(jsonb_build_object('channel', t.channel, 'content_kind', t.content_kind,
                          'subject', t.subject,
                          'instructions', coalesce(t.body, t.subject, t.referral_reminder),
                          'occurrence_key', t.occurrence_key) AS text) AS info
  FROM touches t
 WHERE t.workspace_id = :ws AND t.assignee_id = :member AND t.mode = 'manual'
   AND t.status IN ('scheduled', 'due') AND t.due_at < :day_end
   AND {visible_sql("t.workspace_id", "t.contact_id")}
UNION ALL
SELECT 'follow_up', r.id, coalesce(r.referred_contact_id, r.source_contact_id),
       CASE WHEN r.stage = 'received' THEN r.follow_up_due_at
            ELSE r.stage_changed_at + make_interval(
                     secs => CAST(CAST(:stall AS jsonb) ->> r.stage AS double precision) * 3600)
       END,
       'follow_up:' || CAST(r.id AS text) || ':' || r.stage,
       CASE WHEN r.currency = :cur THEN r.expected_value END, NULL,
       CAST(jsonb_build_object('stage', r.stage, 'received_at', r.received_at,
                               'stage_changed_at', r.stage_changed_at,
                               'usual_hours', CAST(:stall AS jsonb) -> r.stage) AS text)
  FROM referrals r
 WHERE r.workspace_id = :ws AND r.direction = 'received'
   AND r.stage IN ('received', 'contacted', 'meeting', 'agreement')
   AND {_REFERRAL_OWNER}
   AND coalesce(r.referred_contact_id, r.source_contact_id) IS NOT NULL
   AND ((r.stage = 'received' AND r.follow_up_due_at < :day_end)
        OR (r.stage <> 'received' AND r.stage_changed_at + make_interval(
                secs => CAST(CAST(:stall AS jsonb) ->> r.stage AS double precision) * 3600)
            < :day_end))
   AND {referral_visible_sql("r")}
UNION ALL
SELECT 'reconnect', c.id, c.id,
       coalesce(c.last_engaged_at, c.created_at) + make_interval(days => :threshold),
       'reconnect:' || CAST(c.id AS text) || ':'
           || coalesce(to_char(c.last_engaged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 'never'),
       NULL, NULL,
       CAST(jsonb_build_object('last_engaged_at', c.last_engaged_at,
                               'since', coalesce(c.last_engaged_at, c.created_at)) AS text)
  FROM contacts c
 WHERE c.workspace_id = :ws AND c.owner_id = :member
   AND c.advocacy_stage IN ('advocate', 'core_advocate') AND NOT c.do_not_contact
   AND coalesce(c.last_engaged_at, c.created_at) < :warn_before
   AND {visible_sql("c.workspace_id", "c.id")}
UNION ALL
SELECT 'observance', o.id, o.contact_id, d.day_at,
       'observance:' || CAST(o.id AS text) || ':' || d.year, NULL, NULL,
       CAST(jsonb_build_object('kind', o.kind, 'label', o.label, 'date', d.day) AS text)
  FROM observances o
  JOIN contacts c ON c.workspace_id = o.workspace_id AND c.id = o.contact_id
  CROSS JOIN LATERAL (
      SELECT w.day, w.day_at, w.year FROM jsonb_to_recordset(CAST(:window AS jsonb))
          AS w(md int, day date, day_at timestamptz, year int)
       WHERE w.md = o.month * 100 + o.day
       ORDER BY w.day LIMIT 1
  ) d
 WHERE o.workspace_id = :ws AND o.kind IN ('birthday', 'home_anniversary')
   AND o.month = ANY(CAST(:months AS int[]))
   AND o.month * 100 + o.day = ANY(CAST(:mds AS int[]))
   AND c.owner_id = :member AND NOT c.do_not_contact
   AND NOT EXISTS (
       SELECT 1 FROM touches t
        WHERE t.workspace_id = o.workspace_id AND t.contact_id = o.contact_id
          AND t.status IN ('scheduled', 'due', 'sent', 'completed')
          AND t.due_at >= :day_start AND t.due_at < d.day_at + interval '1 day')
   AND {visible_sql("c.workspace_id", "c.id")}
UNION ALL
SELECT 'approve', rw.id, rw.referrer_id, rw.created_at, 'approve:' || CAST(rw.id AS text),
       NULL, NULL,
       CAST(jsonb_build_object('amount', rw.amount, 'currency', rw.currency, 'kind', rw.kind,
                               'referral_id', rw.referral_id) AS text)
  FROM rewards rw
 WHERE CAST(:is_admin AS boolean) AND rw.workspace_id = :ws AND rw.status = 'pending'
   AND rw.created_at < :day_end AND {visible_sql("rw.workspace_id", "rw.referrer_id")}
UNION ALL
SELECT 'thank', r.id, r.source_contact_id, r.received_at, 'thank:' || CAST(r.id AS text),
       NULL,
       (SELECT t.id FROM touches t
         WHERE t.workspace_id = r.workspace_id AND t.contact_id = r.source_contact_id
           AND t.occurrence_key = 'referral:' || CAST(r.id AS text)
           AND t.status IN ('scheduled', 'due') LIMIT 1),
       CAST(jsonb_build_object('referred', (
           SELECT {display_name_sql("p")}
             FROM contacts p
            WHERE p.workspace_id = r.workspace_id AND p.id = r.referred_contact_id),
           'received_at', r.received_at) AS text)
  FROM referrals r
 WHERE r.workspace_id = :ws AND r.direction = 'received' AND r.source_contact_id IS NOT NULL
   AND r.received_at >= :thank_since AND r.received_at < :day_end
   AND {_REFERRAL_OWNER}
   AND NOT EXISTS (
       SELECT 1 FROM touches t
        WHERE t.workspace_id = r.workspace_id AND t.contact_id = r.source_contact_id
          AND t.occurrence_key = 'referral:' || CAST(r.id AS text)
          AND t.status IN {_TOUCH_DONE})
   AND NOT EXISTS (
       SELECT 1 FROM interactions i
        WHERE i.workspace_id = r.workspace_id AND i.contact_id = r.source_contact_id
          AND i.direction = 'outbound' AND i.occurred_at >= r.received_at)
   AND {referral_visible_sql("r")}
)
SELECT i.*, {_WHO} AS name, cx.segment, cx.advocacy_stage
  FROM items i
  LEFT JOIN contacts cx ON cx.workspace_id = :ws AND cx.id = i.contact_id
"""
    )
)

#: The member's latest decision on each of the items found.
DECISIONS = DriverStatement(
    text(
        """
SELECT DISTINCT ON (d.item_key) d.item_key, d.decision, d.until
  FROM agenda_decisions d
 WHERE d.workspace_id = :ws AND d.member_id = :member AND d.item_key = ANY(CAST(:keys AS text[]))
 ORDER BY d.item_key, d.at DESC, d.created_at DESC
"""
    )
)
