"""What the import's batch writers share: a validated row, a batch's outcome, the
external-id claims (``ON CONFLICT DO NOTHING``, so a concurrent writer of the same key is
detected rather than overwritten)."""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import delete, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.json_codec import to_json
from app.models.contacts.tables import ContactExternalId
from app.services.contacts.rows import WRITABLE_COLUMNS

Key = tuple[str, str]
WRITTEN = (
    *WRITABLE_COLUMNS,
    "sort_name",
    "name_key",
    "primary_email",
    "primary_phone",
    "email_search",
    "phone_search",
)
Ext = ContactExternalId

_CLAIM = text(
    """
    INSERT INTO contact_external_ids (workspace_id, source, external_id, contact_id)
    SELECT :ws, k.source, k.external_id, CAST(k.contact_id AS uuid)
    FROM unnest(CAST(:sources AS text[]), CAST(:ids AS text[]), CAST(:contacts AS text[]))
         AS k(source, external_id, contact_id)
    ON CONFLICT DO NOTHING
    RETURNING source, external_id
    """
)
Claim = tuple[uuid.UUID | str, Key]  # a contact's id, and an external id for it


class Row(NamedTuple):
    """A valid row prepared for writing (``contacts_import_prepare``, in the validation
    process) as flat data: a few strings and tuples for this process to unpickle and its
    collector to walk, where the row's dicts and lists were a fifth of its CPU. A named
    tuple, as it crosses between the processes: pickled as one, it cost the worker 3.4 us
    and this process 1.1 us, against 7.5 and 2.3 us as a dataclass (1,000 rows)."""

    line: int
    keys: list[Key]  # external ids
    emails: tuple[str, ...]  # addresses as validated (the match lowercases them)
    phones: tuple[str, ...]  # E.164
    owner_id: uuid.UUID | None
    problems: list[dict[str, Any]]  # rule errors of the contact it would create
    #: That contact: its id, its columns as the batch's insert takes them
    #: (``insert.row_json``), and its consent as the JSON the row gave (its batch stamps
    #: the entries given without a time). Empty when ``problems`` refuse it.
    contact_id: str
    columns: str
    consent: str
    event: str  # that contact's ``contact.created`` data but for what its batch sets
    given: bytes  # pickle of its given columns and phone forms, read for an update only

    def for_update(self) -> tuple[dict[str, Any], dict[str, tuple[str, ...]]]:
        """``given_columns`` of the row (consent not yet stamped), and its phone forms."""
        # Bytes this import's own worker pickled, as the executor pickles its results.
        given, forms = pickle.loads(self.given)  # noqa: S301
        return given, forms


@dataclass
class Outcome:
    """What a batch did: counts, rejected rows, and the contacts the touch hooks need."""

    created: int = 0
    updated: int = 0
    skipped: int = 0  # matched, and nothing to change
    errors: list[dict[str, Any]] = field(default_factory=list)
    deferred: list[Row] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)  # type, JSON of its data
    enrol: list[uuid.UUID] = field(default_factory=list)
    stop: list[uuid.UUID] = field(default_factory=list)
    resume: list[uuid.UUID] = field(default_factory=list)  # do-not-contact cleared
    reconsent: list[uuid.UUID] = field(default_factory=list)  # consent changed
    replan: list[uuid.UUID] = field(default_factory=list)

    import_id: str = ""  # the job, named in each event's data

    def fail(self, line: int, loc: Sequence[str | int], msg: str, value: Any = None) -> None:
        entry = {"loc": list(loc), "msg": msg, "value": value}
        self.errors.append({"line": line, "errors": [entry]})

    def event_json(self, data: dict[str, Any]) -> str:
        """The JSON an event of this import records: ``data`` and the job's id."""
        return to_json({**data, "import_id": self.import_id})


async def claim(
    session: AsyncSession, workspace_id: uuid.UUID, claims: Sequence[Claim]
) -> set[Key]:
    """Insert external ids; returns the keys a concurrent writer took first."""
    if not claims:
        return set()
    rows = await session.execute(
        _CLAIM,
        {
            "ws": workspace_id,
            "sources": [s for _c, (s, _e) in claims],
            "ids": [e for _c, (_s, e) in claims],
            "contacts": [str(c) for c, _key in claims],
        },
    )
    won = {(r.source, r.external_id) for r in rows}
    return {key for _c, key in claims if key not in won}


async def unclaim(
    session: AsyncSession, workspace_id: uuid.UUID, claims: list[tuple[uuid.UUID, Key]]
) -> None:
    if claims:
        await session.execute(
            delete(Ext).where(
                col(Ext.workspace_id) == workspace_id,
                tuple_(col(Ext.contact_id), col(Ext.source), col(Ext.external_id)).in_(
                    [(c, s, e) for c, (s, e) in claims]
                ),
            )
        )
