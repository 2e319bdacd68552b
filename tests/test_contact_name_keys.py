"""A contact's phonetic name key is derived by the app (``name_keys``) exactly as the SQL
function migration 0004n made it, on every path that writes a name; and a writer that
leaves it out (the previous version, a bulk SQL load) still gets the SQL function's."""

from __future__ import annotations

import random
import uuid

import httpx
from sqlalchemy import text

from app.db import Database
from app.services.contacts.name_keys import name_key
from tests.conftest import Tenant
from tests.contact_fixtures import new_contact

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789 -'._éüßøアḱǆ\u0661\u0662hw"
NAMES = [
    "",
    "   ",
    "lopez maria",
    "smith jon",
    "smyth john",
    "ashcraft",
    "tymczak",
    "pfister",
    "honeyman",
    "o'brien",
    "h w",
    "josé garcía",
    "ßtraße",
    "øyvind",
    "アキコ",
    "\u0661\u0662\u0663 abc",  # Arabic-Indic digits
    "ǆemal",
]

_KEYS = text("SELECT n, rapport_name_key(n) AS k FROM unnest(CAST(:names AS text[])) AS n")
_STORED = text(
    "SELECT sort_name, name_key, rapport_name_key(sort_name) AS sql_key FROM contacts"
    " WHERE workspace_id = :ws"
)


async def test_the_apps_key_is_the_sql_functions_over_every_kind_of_name(db: Database) -> None:
    rng = random.Random(7)
    names = NAMES + [
        "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 14))) for _ in range(5000)
    ]
    async with db.transaction() as session:
        rows = (await session.execute(_KEYS, {"names": names})).all()
    assert len(rows) == len(names)
    assert [(n, name_key(n)) for n, _k in rows] == [(n, k) for n, k in rows]
    assert name_key("smith jon") == name_key("smyth john") == "J500 S530"


async def _stored(db: Database, tenant: Tenant) -> list[tuple[str, str, str]]:
    async with db.transaction() as session:
        return [tuple(r) for r in (await session.execute(_STORED, {"ws": tenant.id})).all()]


async def test_creates_updates_merges_and_imports_store_the_key_of_the_name(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    dana = await new_contact(client, tenant, first_name="Dana", last_name="Ashcraft")
    renamed = await client.patch(
        f"/v1/contacts/{dana['id']}",
        json={"last_name": "Tymczak"},
        headers={**tenant.headers, "If-Match": f'"{dana["version"]}"'},
    )
    assert renamed.status_code == 200, renamed.text
    other = await new_contact(client, tenant, first_name="Dan", last_name="Tymczak")
    merged = await client.post(
        f"/v1/contacts/{dana['id']}/merge", json={"other_id": other["id"]}, headers=tenant.headers
    )
    assert merged.status_code == 200, merged.text
    body = "first_name,last_name,external_id.crm\nJosé,García,1\nØyvind,O'Brien,2\n"
    accepted = await client.post(
        "/v1/contacts/imports",
        content=body.encode(),
        headers={**tenant.headers, "Content-Type": "text/csv"},
    )
    assert accepted.status_code == 202, accepted.text
    again = "first_name,last_name,external_id.crm\nJosé,Honeyman,1\n"  # an update by id
    accepted = await client.post(
        "/v1/contacts/imports?mode=overwrite",
        content=again.encode(),
        headers={**tenant.headers, "Content-Type": "text/csv"},
    )
    assert accepted.status_code == 202, accepted.text
    stored = await _stored(db, tenant)
    assert sorted(s for s, _k, _sql in stored) == [
        "honeyman josé",
        "o'brien øyvind",
        "tymczak dana",
    ]
    for sort_name, key, sql_key in stored:
        assert key == sql_key == name_key(sort_name), sort_name


async def test_a_writer_that_leaves_the_key_out_gets_the_sql_functions(
    db: Database, tenant: Tenant
) -> None:
    contact = uuid.uuid4()
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO contacts (workspace_id, id, kind, first_name, sort_name, emails,"
                " phones, segment, advocacy_stage, advocacy_stage_manual, family, interests,"
                " tags, custom_fields, consent, do_not_contact, version, created_at, updated_at)"
                " VALUES (:ws, :id, 'person', 'Jon', 'smith jon', '[]', '[]', 'prospect',"
                " 'seeker', false, '[]', '{}', '{}', '{}', '{}', false, 1, now(), now())"
            ),
            {"ws": tenant.id, "id": contact},
        )
    assert await _stored(db, tenant) == [("smith jon", "J500 S530", "J500 S530")]
    async with db.transaction() as session:  # the previous version renames: sort_name only
        await session.execute(
            text("UPDATE contacts SET sort_name = 'pfister ann' WHERE id = :id"), {"id": contact}
        )
    assert await _stored(db, tenant) == [("pfister ann", "A500 P236", "A500 P236")]
    async with db.transaction() as session:  # this version writes both: the key it wrote
        await session.execute(
            text("UPDATE contacts SET sort_name = 'kim', name_key = 'K500' WHERE id = :id"),
            {"id": contact},
        )
    assert await _stored(db, tenant) == [("kim", "K500", "K500")]
