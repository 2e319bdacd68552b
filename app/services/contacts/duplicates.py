"""Likely duplicate contacts: the same e-mail, the same phone, the same or a similar name.

Groups are listed by ``(reason, key)``, reasons in the order ``email``, ``name``,
``phone``, ``similar_name``. Each reason is its own query, run only when the page
reaches it, so a page of name groups never reads e-mail addresses:

* ``name``: the same normalised name (punctuation and case ignored);
* ``similar_name``: the same phonetic key (Soundex of each word, words in any order:
  "Jon Smith" and "John Smyth"), with more than one distinct normalised name (groups of
  identical names are already ``name`` groups); its value lists the names;
* ``email`` and ``phone``: an address or E.164 number on more than one contact.

The two name reasons group over an index on ``(workspace_id, key)`` and stop at the page
size, so a page reads the groups it returns (plus the singletons between them), not the
whole workspace. E-mail and phone groups unnest the contacts' JSON lists, a workspace
scan each, only on pages that reach those reasons.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.contacts.reads import DuplicateGroup, DuplicateReason
from app.models.contacts.tables import NAME_NORM
from app.services.platform import (
    PageRequest,
    contact_row_sql,
    decode_cursor,
    encode_cursor,
    text_binds,
)

SORT = "contact-duplicates"
REASONS: tuple[DuplicateReason, ...] = ("email", "name", "phone", "similar_name")

# Only the contacts the viewer sees form groups (``platform.visibility``).
SEEN = contact_row_sql("c")
_QUERIES = {
    "email": f"""
        SELECT lower(e->>'address') AS key, lower(e->>'address') AS value,
               array_agg(DISTINCT c.id) AS contact_ids
          FROM contacts c, jsonb_array_elements(c.emails) e
         WHERE c.workspace_id = :ws AND lower(e->>'address') > :after AND {SEEN}
         GROUP BY 1 HAVING count(DISTINCT c.id) > 1
         ORDER BY 1 LIMIT :limit
    """,
    "phone": f"""
        SELECT p->>'number' AS key, p->>'number' AS value,
               array_agg(DISTINCT c.id) AS contact_ids
          FROM contacts c, jsonb_array_elements(c.phones) p
         WHERE c.workspace_id = :ws AND p->>'number' > :after AND {SEEN}
         GROUP BY 1 HAVING count(DISTINCT c.id) > 1
         ORDER BY 1 LIMIT :limit
    """,
    "name": f"""
        SELECT {NAME_NORM} AS key, {NAME_NORM} AS value, array_agg(id) AS contact_ids
          FROM contacts c
         WHERE workspace_id = :ws AND {NAME_NORM} > :after AND {SEEN}
         GROUP BY {NAME_NORM} HAVING count(*) > 1
         ORDER BY {NAME_NORM} LIMIT :limit
    """,
    "similar_name": f"""
        SELECT name_key AS key, array_agg({NAME_NORM}) AS names, array_agg(id) AS contact_ids
          FROM contacts c
         WHERE workspace_id = :ws AND name_key > :after AND {SEEN}
         GROUP BY name_key HAVING min({NAME_NORM}) <> max({NAME_NORM})
         ORDER BY name_key LIMIT :limit
    """,
}
STATEMENTS = {reason: text(sql) for reason, sql in _QUERIES.items()}


def _value(row: Any) -> str:
    # Distinct names are listed here, not in SQL: a DISTINCT aggregate would sort.
    names = getattr(row, "names", None)
    return " / ".join(sorted(set(names))) if names is not None else str(row.value)


async def find_duplicates(
    session: AsyncSession, workspace_id: uuid.UUID, page: PageRequest
) -> tuple[list[DuplicateGroup], str | None]:
    """One page of duplicate groups and the cursor of the next (None at the end)."""
    start, after = REASONS[0], ""
    if page.cursor is not None:
        start, after = decode_cursor(page.cursor, SORT, 2)
        if start not in REASONS or not isinstance(after, str):
            start, after = REASONS[-1], "\uffff"  # a forged cursor: an empty page
    found: list[tuple[DuplicateReason, Any]] = []
    for reason in REASONS[REASONS.index(start) :]:
        wanted = page.limit + 1 - len(found)
        if wanted <= 0:
            break
        params = {
            "ws": workspace_id,
            "after": after if reason == start else "",
            "limit": wanted,
            **text_binds(),
        }
        found += [(reason, r) for r in await session.execute(STATEMENTS[reason], params)]
    more = len(found) > page.limit
    found = found[: page.limit]
    groups = [
        DuplicateGroup(reason=reason, value=_value(r), contact_ids=sorted(r.contact_ids))
        for reason, r in found
    ]
    cursor = encode_cursor(SORT, [found[-1][0], found[-1][1].key]) if more and found else None
    return groups, cursor
