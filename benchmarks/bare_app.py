"""The ceiling: a bare FastAPI + asyncpg app doing the contact endpoints' queries, no more.

No authentication, no validation beyond FastAPI's, no events, no logging: the same
SQL on the same table, so ``bench_api.py`` can show what the framework and the database
allow on this machine and how close Rapport's real endpoints come to it. Configured by
``BARE_DATABASE_URL`` (an asyncpg DSN) and ``BARE_WORKSPACE_ID``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request, Response

WORKSPACE = uuid.UUID(os.environ["BARE_WORKSPACE_ID"])
COLUMNS = (
    "id, kind, first_name, last_name, company_name, company, job_title, emails, phones, "
    "primary_email, primary_phone, address, time_zone, locale, owner_id, segment, "
    "allied_category, advocacy_stage, family, interests, tags, custom_fields, consent, "
    "do_not_contact, last_engaged_at, version, created_at, updated_at"
)
pool: asyncpg.Pool[Any] | None = None


async def _codecs(conn: asyncpg.Connection[Any]) -> None:
    """JSON columns come back decoded, as Rapport returns them."""
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind,
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(
        os.environ["BARE_DATABASE_URL"], min_size=10, max_size=10, init=_codecs
    )
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


def _json(row: asyncpg.Record | None, status: int = 200) -> Response:
    if row is None:
        return Response(status_code=404)
    return Response(
        orjson.dumps(dict(row), default=str), status_code=status, media_type="application/json"
    )


@app.get("/v1/contacts/{contact_id}")
async def get_contact(contact_id: uuid.UUID) -> Response:
    assert pool is not None
    sql = f"SELECT {COLUMNS} FROM contacts WHERE workspace_id = $1 AND id = $2"
    return _json(await pool.fetchrow(sql, WORKSPACE, contact_id))


@app.get("/v1/contacts")
async def list_contacts(limit: int = 50) -> Response:
    assert pool is not None
    sql = f"SELECT {COLUMNS} FROM contacts WHERE workspace_id = $1 ORDER BY sort_name, id LIMIT $2"
    rows = await pool.fetch(sql, WORKSPACE, limit + 1)
    body = {
        "data": [dict(r) for r in rows[:limit]],
        "next_cursor": "x" if len(rows) > limit else None,
    }
    return Response(orjson.dumps(body, default=str), media_type="application/json")


@app.post("/v1/contacts")
async def create_contact(request: Request) -> Response:
    assert pool is not None
    body = orjson.loads(await request.body())
    email = body["emails"][0]["address"]
    sql = f"""
        INSERT INTO contacts (workspace_id, id, kind, first_name, last_name, sort_name,
            emails, phones, primary_email, email_search, segment, advocacy_stage,
            advocacy_stage_manual, family, interests, tags, custom_fields, consent,
            do_not_contact, version, created_at, updated_at)
        VALUES ($1, gen_random_uuid(), 'person', $2::text, $3::text,
            lower($3::text || ' ' || $2::text), $4::jsonb, '[]', $5::text, $5::text,
            $6::text, 'seeker', false, '[]', '{{}}', '{{}}', '{{}}', '{{}}',
            false, 1, now(), now())
        RETURNING {COLUMNS}
    """
    # The JSON codec serialises the list (passing orjson's text stored a JSON string).
    row = await pool.fetchrow(
        sql,
        WORKSPACE,
        body["first_name"],
        body["last_name"],
        body["emails"],
        email,
        body["segment"],
    )
    return _json(row, status=201)
