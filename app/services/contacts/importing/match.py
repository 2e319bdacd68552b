"""Which existing contact each row of a batch is: by external id, e-mail or phone.

One statement finds every contact a batch's keys point at: its external ids (always:
an id another contact holds cannot be given to a new one), and, as ``match_on`` asks,
its e-mail addresses (without case) and phone numbers, each probed in a GIN index over
the contacts' lists (``EMAIL_KEYS``, ``PHONE_KEYS``), so the cost follows the batch,
not the workspace. Then each row goes to the first key kind of ``match_on`` that finds
a contact: one contact is the row's target; two or more make the row ambiguous, refused
naming them. A row whose external id another contact holds is refused too.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.driver import DriverStatement, fetch_column
from app.models.contacts.tables import EMAIL_KEYS, PHONE_KEYS
from app.services.contacts.importing.rows import Key, Outcome, Row

# Each part returns [kind, key, key's second half (external ids), contact] as JSON: one
# array per row is cheaper to read back than SQLAlchemy's rows (see ``rows._KNOWN``).
_LOOKUP = DriverStatement(
    text(
        f"""
        SELECT jsonb_build_array('external_id', e.source, e.external_id, e.contact_id)
        FROM unnest(CAST(:sources AS text[]), CAST(:ids AS text[])) AS k(source, external_id)
        JOIN contact_external_ids AS e
          ON e.workspace_id = CAST(:ws AS uuid) AND e.source = k.source
             AND e.external_id = k.external_id
        UNION ALL
        SELECT jsonb_build_array('email', k.key, NULL, c.id)
        FROM unnest(CAST(:emails AS text[])) AS k(key)
        JOIN contacts AS c
          ON c.workspace_id = CAST(:ws AS uuid) AND {EMAIL_KEYS} @> jsonb_build_array(k.key)
        UNION ALL
        SELECT jsonb_build_array('phone', k.key, NULL, c.id)
        FROM unnest(CAST(:phones AS text[])) AS k(key)
        JOIN contacts AS c
          ON c.workspace_id = CAST(:ws AS uuid) AND {PHONE_KEYS} @> jsonb_build_array(k.key)
        """
    )
)
_WHAT = {"external_id": "external id", "email": "e-mail", "phone": "phone number"}


@dataclass
class Found:
    """What a batch's keys point at: external ids to their holder; e-mails (lowercased)
    and phone numbers to every contact that has them."""

    external: dict[Key, uuid.UUID] = field(default_factory=dict)
    emails: dict[str, set[uuid.UUID]] = field(default_factory=dict)
    phones: dict[str, set[uuid.UUID]] = field(default_factory=dict)

    def candidates(self, row: Row, kind: str) -> dict[uuid.UUID, str]:
        """The contacts the row's keys of this kind point at, each with a key that did."""
        if kind == "external_id":
            return {self.external[k]: f"{k[0]} {k[1]}" for k in row.keys if k in self.external}
        found = self.emails if kind == "email" else self.phones
        values = [a.lower() for a in row.emails] if kind == "email" else row.phones
        return {cid: value for value in values for cid in found.get(value, ())}


async def lookup(
    session: AsyncSession, workspace_id: uuid.UUID, rows: Sequence[Row], match_on: Sequence[str]
) -> Found:
    keys = sorted({k for r in rows for k in r.keys})
    emails = {a.lower() for r in rows for a in r.emails} if "email" in match_on else set()
    phones = {p for r in rows for p in r.phones} if "phone" in match_on else set()
    found = Found()
    if not (keys or emails or phones):
        return found
    params = {
        "ws": workspace_id,
        "sources": [s for s, _ in keys],
        "ids": [e for _, e in keys],
        "emails": list(emails),
        "phones": list(phones),
    }
    for kind, key, second, contact in await fetch_column(session, _LOOKUP, params):
        cid = uuid.UUID(contact)
        if kind == "external_id":
            found.external[(key, second)] = cid
        else:
            (found.emails if kind == "email" else found.phones).setdefault(key, set()).add(cid)
    return found


@dataclass
class Decided:
    """A batch's rows by what becomes of them (the refused ones are in the ``Outcome``)."""

    new: list[Row] = field(default_factory=list)
    targets: dict[uuid.UUID, Row] = field(default_factory=dict)  # contact → its row
    later: list[Row] = field(default_factory=list)  # a contact another row takes first


def decide(rows: Sequence[Row], found: Found, match_on: Sequence[str], out: Outcome) -> Decided:
    """Each row's target by ``match_on``, in order; ambiguous rows and rows giving an
    external id another contact holds are refused into ``out``."""
    decided = Decided()
    for row in rows:
        ambiguous, target = _target(row, found, match_on, out)
        if ambiguous or _held_by_others(row, found, target, out):
            continue
        if target is None:
            decided.new.append(row)
        elif target in decided.targets:
            decided.later.append(row)
        else:
            decided.targets[target] = row
    return decided


def _target(
    row: Row, found: Found, match_on: Sequence[str], out: Outcome
) -> tuple[bool, uuid.UUID | None]:
    """The contact the first kind of key that finds one finds (None: none), after
    whether that kind found several (the row is then refused into ``out``)."""
    for kind in match_on:
        candidates = found.candidates(row, kind)
        if len(candidates) > 1:
            ids = " and ".join(str(c) for c in sorted(candidates, key=str))
            out.fail(
                row.line,
                _loc(kind),
                f"the row matches several contacts by {_WHAT[kind]} ({ids}): merge them, "
                "or import the row with a key only one of them has",
                value=", ".join(sorted(set(candidates.values()))),
            )
            return True, None
        if candidates:
            return False, next(iter(candidates))
    return False, None


def _held_by_others(row: Row, found: Found, target: uuid.UUID | None, out: Outcome) -> bool:
    for key in row.keys:
        holder = found.external.get(key)
        if holder is not None and holder != target:
            source, value = key
            msg = f"the {source} id {value} belongs to another contact ({holder})"
            out.fail(row.line, ["external_ids", source], msg, value=value)
            return True
    return False


def _loc(kind: str) -> list[str]:
    return ["external_ids"] if kind == "external_id" else [f"{kind}s"]
