"""Contact import: 100,000 CSV rows through ``POST /v1/contacts/imports`` (target <= 20 s).

The rows look like a CRM export: name, e-mail, phone to parse into E.164, tags, segment,
city, e-mail consent, an external id and one unknown column (into custom fields). The
request runs in process through the ASGI app against a fresh, migrated database; the
time covers parsing, validation, the batched writes, the events and the commit.
``--again`` imports the same file a second time: every row then updates by external id.

Run on demand (not part of pytest):

    .venv/bin/python benchmarks/bench_import.py                  # embedded PostgreSQL
    .venv/bin/python benchmarks/bench_import.py --rows 20000 --again
    DATABASE_URL=postgresql://... .venv/bin/python benchmarks/bench_import.py
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time

import httpx
from bench_contacts_common import admin, csv_rows, scratch_database

from app.clock import SystemClock
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.services.workspaces import create_workspace


async def _import_once(client: httpx.AsyncClient, headers: dict[str, str], body: bytes) -> float:
    """POST the file and wait for the job: the app imports it right after its 202 (in
    process, the ASGI call returns once that background work is done)."""
    started = time.perf_counter()
    response = await client.post(
        "/v1/contacts/imports", content=body, headers={**headers, "Content-Type": "text/csv"}
    )
    accepted = time.perf_counter() - started
    assert response.status_code == 202, response.text[:500]
    job = (await client.get(response.headers["location"], headers=headers)).json()
    elapsed = time.perf_counter() - started
    assert job["status"] == "completed", job
    print(
        f"  {job['total_rows']} rows in {elapsed:.2f} s"
        f" ({job['total_rows'] / elapsed:,.0f} rows/s; the 202 after {accepted:.2f} s"
        f" of it, staging included):"
        f" {job['created_count']} created, {job['updated_count']} updated,"
        f" {job['error_count']} errors"
    )
    return elapsed


async def main(rows: int, again: bool) -> None:
    server, name, url = await scratch_database("rapport_bench_import")
    database = Database.from_url(url, pool_size=2)
    try:
        async with database.transaction() as session:
            _workspace, _key, token = await create_workspace(
                session, "Bench", at=SystemClock().now()
            )
        settings = Settings(
            environment="test",
            database_url=url,
            scheduler_enabled=False,
            webhooks_enabled=False,
            max_import_bytes=256 * 1_048_576,
        )
        app = create_app(settings, database=database)
        # As ``rapport serve`` runs it (app.cli.production_app): the startup heap frozen,
        # so the collector's full passes do not walk SQLAlchemy's, FastAPI's and
        # pydantic's ~250,000 objects (without it they were a fifth of the import's CPU).
        gc.collect()
        gc.freeze()
        body = csv_rows(rows).encode()
        print(f"bench_import: {rows} rows, {len(body) / 1e6:.1f} MB of CSV")
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=600) as c:
            await _import_once(c, headers, body)
            if again:
                await _import_once(c, headers, body)
    finally:
        await database.dispose()
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--again", action="store_true", help="re-import: every row updates")
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.again))
