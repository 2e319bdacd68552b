"""The ``contact.created`` events of an import, without a second pydantic pass per row.

An event carries the contact as the API reads it: ``ContactRead``'s JSON. Validating each
new row into ``ContactRead`` and dumping it again was a quarter of the import's own CPU
once validation moved to another process (py-spy, bench_import), for values this import
has just derived from a validated body: strings, booleans and lists that are already
what the JSON says. So ``created_body`` copies those (in the validation process, as JSON
text) and leaves to pydantic only what it would change: the times (each field's own
type, once per batch: ``batch_times``) and the consent map (``ConsentRead``, memoised:
the rows of a batch share a few, ``consent_columns``); ``created_event`` puts the two
together with the contact's id. ``tests/test_contacts_import_events.py`` compares the
result with ``ContactRead`` and fails when ``ContactRead`` gains a field this does not
know.

Each event's data is serialised (``to_json``) as the event is made, and a batch's events
are written with ``events.record_serialised_events``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
from pydantic import TypeAdapter

from app.json_codec import to_json
from app.models.contacts.reads import AddressRead, ConsentRead, ContactRead
from app.services.contacts.rows import display_name, stamp_consent

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


#: What the batch writing a contact sets: its id, its times, its consent (stamped then).
BATCH = ("id", "created_at", "updated_at", "consent")


def _adapter(name: str) -> TypeAdapter[Any]:
    adapter: TypeAdapter[Any] = TypeAdapter(ContactRead.model_fields[name].rebuild_annotation())
    return adapter


_TIME_ADAPTERS = {name: _adapter(name) for name in TIMES}
_CONSENT: TypeAdapter[ConsentRead] = TypeAdapter(ConsentRead)


def _time_json(name: str, value: datetime) -> Any:
    adapter = _TIME_ADAPTERS[name]
    return adapter.dump_python(adapter.validate_python(value), mode="json")


def _id_json(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def created_body(row: Mapping[str, Any], external_ids: Mapping[str, str]) -> str:
    """The JSON of ``to_read(row, external_ids).model_dump(mode="json")`` but for ``BATCH``,
    for a new contact's row as the import derives it (``contacts_import_prepare``, in the
    validation process): the same document, built directly."""
    out: dict[str, Any] = dict(zip(PLAIN, _plain(row), strict=True))
    for name in ("last_engaged_at", "lapsed_at"):
        value = row[name]
        out[name] = None if value is None else _time_json(name, value)
    for name, keys in ENTRIES.items():
        out[name] = [{k: entry[k] for k in keys} for entry in row[name]]
    address = row["address"]
    out["owner_id"] = _id_json(row["owner_id"])
    out["display_name"] = display_name(row)
    out["address"] = None if address is None else {k: address.get(k) for k in _ADDRESS}
    out["family"] = [{k: member.get(k) for k in _FAMILY} for member in row["family"]]
    out["external_ids"] = dict(external_ids)
    return to_json(out)


@lru_cache(maxsize=4096)
def consent_columns(document: str, at: datetime) -> tuple[str, str]:
    """A new contact's consent as stored and as its event shows it (``ConsentRead``), from
    the JSON its row gave, entries without a time stamped ``at``. Memoised: the rows of
    a batch share a few (the same cells, the same time)."""
    consent = stamp_consent({"consent": orjson.loads(document)}, at=at)["consent"]
    shown = _CONSENT.validate_python(consent).model_dump(mode="json")
    return to_json(consent), orjson.dumps(shown).decode()


@lru_cache(maxsize=16)
def batch_times(at: datetime) -> str:
    """``"created_at":…,"updated_at":…`` of the events of contacts a batch creates ``at``."""
    return ",".join(
        f'"{name}":{orjson.dumps(_time_json(name, at)).decode()}'
        for name in ("created_at", "updated_at")
    )


def created_event(body: str, contact_id: str, times: str, consent: str, import_id: str) -> str:
    """The JSON of a ``contact.created`` event: the row's ``created_body`` with what its
    batch set (``batch_times``, ``consent_columns``) and the import's id, as members put
    before the body's own (which never has these keys, and never is empty)."""
    return f'{{"id":"{contact_id}",{times},"consent":{consent},"import_id":"{import_id}",{body[1:]}'
