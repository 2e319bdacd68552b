"""The ``contact.created`` events of an import, without a second pydantic pass per row.

An event carries the contact as the API reads it: ``ContactRead``'s JSON. Validating each
new row into ``ContactRead`` and dumping it again was a quarter of the import's own CPU
once validation moved to another process (py-spy, bench_import), for values this import
has just derived from a validated body: strings, booleans and lists that are already
what the JSON says. So ``created_json`` copies those and leaves to pydantic only what
it would change: ids and times (each field's own type, memoised: a batch shares one
time) and the consent map (``ConsentRead``, memoised: rows of one file share a few).
``tests/test_contacts_import_events.py`` compares it with ``ContactRead`` field by field
and fails when ``ContactRead`` gains a field this does not know.

``record`` writes a batch's events with ``events.record_events``' statement, their data
serialised by orjson (``json_text``) as each event is made: ``record_events`` serialises
with ``json.dumps``, three times slower on these documents, for the same stored JSON.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import fetch_column
from app.models.contact_schemas import AddressRead, ConsentRead, ContactRead
from app.models.event_catalogue import WEBHOOK_TEST
from app.services import events
from app.services.contact_rows import display_name

#: Fields whose values a derived row holds as the JSON has them (strings, booleans,
#: integers, lists of strings, JSON objects), copied as they are.
PLAIN = (
    "kind",
    "first_name",
    "last_name",
    "company_name",
    "company",
    "job_title",
    "primary_email",
    "primary_phone",
    "time_zone",
    "locale",
    "segment",
    "allied_category",
    "advocacy_stage",
    "advocacy_stage_manual",
    "interests",
    "tags",
    "custom_fields",
    "do_not_contact",
    "version",
)
TIMES = ("last_engaged_at", "lapsed_at", "created_at", "updated_at")
#: Entries of these lists have exactly these keys, each a string or a boolean.
ENTRIES = {"emails": ("address", "type", "primary"), "phones": ("number", "type", "primary")}
_ADDRESS = tuple(AddressRead.model_fields)
_FAMILY = ("name", "relation", "birthday")  # birthday: the date's JSON, as stored
OTHER = ("id", "display_name", "owner_id", "address", "family", "consent", "external_ids")
KNOWN = frozenset((*PLAIN, *TIMES, *ENTRIES, *OTHER))
_plain = itemgetter(*PLAIN)


def _adapter(name: str) -> TypeAdapter[Any]:
    adapter: TypeAdapter[Any] = TypeAdapter(ContactRead.model_fields[name].rebuild_annotation())
    return adapter


_TIME_ADAPTERS = {name: _adapter(name) for name in TIMES}
_CONSENT: TypeAdapter[ConsentRead] = TypeAdapter(ConsentRead)


@lru_cache(maxsize=64)
def _time_json(name: str, value: datetime) -> Any:
    adapter = _TIME_ADAPTERS[name]
    return adapter.dump_python(adapter.validate_python(value), mode="json")


@lru_cache(maxsize=1024)
def _consent_document(entries: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]) -> bytes:
    consent = {channel: dict(entry) for channel, entry in entries}
    return orjson.dumps(_CONSENT.validate_python(consent).model_dump(mode="json"))


def _consent_json(consent: Mapping[str, Mapping[str, Any]]) -> Any:
    """``ConsentRead``'s JSON of a stored consent map: a new object each time (the
    memo is keyed by the entries' items, which are strings)."""
    key = tuple((channel, tuple(entry.items())) for channel, entry in consent.items())
    return orjson.loads(_consent_document(key))


def _id_json(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def created_json(row: Mapping[str, Any], external_ids: Mapping[str, str]) -> dict[str, Any]:
    """``to_read(row, external_ids).model_dump(mode="json")`` for a row the import derived
    (``Row.new_row`` with its id, version and times): the same document, built directly."""
    out: dict[str, Any] = dict(zip(PLAIN, _plain(row), strict=True))
    for name in TIMES:
        value = row[name]
        out[name] = None if value is None else _time_json(name, value)
    for name, keys in ENTRIES.items():
        out[name] = [{k: entry[k] for k in keys} for entry in row[name]]
    address = row["address"]
    out["id"] = _id_json(row["id"])
    out["owner_id"] = _id_json(row["owner_id"])
    out["display_name"] = display_name(row)
    out["address"] = None if address is None else {k: address.get(k) for k in _ADDRESS}
    out["family"] = [{k: member.get(k) for k in _FAMILY} for member in row["family"]]
    out["consent"] = _consent_json(row["consent"])
    out["external_ids"] = dict(external_ids)
    return out


async def record(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    items: Sequence[tuple[str, str]],
    *,
    at: datetime,
) -> None:
    """``events.record_events`` for events whose data is serialised already (``json_text``:
    orjson, where ``record_events`` uses ``json.dumps``; the same JSON is stored)."""
    if not items:
        return
    params = {
        "workspace_id": workspace_id,
        "at": at,
        "uids": [uuid.uuid4() for _ in items],
        "types": [event_type for event_type, _ in items],
        "datas": [data for _, data in items],
        "test_type": WEBHOOK_TEST,
    }
    await fetch_column(session, events._RECORD_DRIVER, params)
