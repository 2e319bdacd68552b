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
import os
import time
from multiprocessing import forkserver

import httpx
from bench_contacts_common import admin, bench_app, csv_rows, scratch_database
from sqlalchemy import text

from app import heap
from app.db import Database

_BACKENDS = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")


def _cpu_of(pids: list[int]) -> float | None:
    """CPU seconds (user and system) these processes used so far, from ``/proc``."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    try:
        for pid in pids:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    except OSError:
        return None
    return total / ticks


def _children_cpu() -> float:
    """CPU seconds of the import's validation workers, once they have exited. They are
    children of multiprocessing's fork server, which reaps them, so their time shows in
    its ``/proc`` stat (cutime, cstime), not in this process's ``RUSAGE_CHILDREN``."""
    time.sleep(1)  # the worker is shut down without waiting: let the fork server reap it
    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


async def _backend_cpu(database: Database) -> float | None:
    """CPU seconds used so far by the PostgreSQL backends of this database (so only when
    the server runs on this machine): the import's SQL cost, which the process's own CPU
    time does not show. None when it cannot be read."""
    async with database.transaction() as session:
        pids = list((await session.execute(_BACKENDS)).scalars())
    return _cpu_of(pids)


async def _import_once(
    client: httpx.AsyncClient, headers: dict[str, str], body: bytes, database: Database
) -> float:
    """POST the file and wait for the job: the app imports it right after its 202 (in
    process, the ASGI call returns once that background work is done). Prints the wall
    time, this process's CPU time and the database backends' CPU time: the machine may
    be shared, and CPU time says what the import itself cost."""
    backend_before = await _backend_cpu(database)
    cpu_before = time.process_time()
    children_before = _children_cpu()
    started = time.perf_counter()
    response = await client.post(
        "/v1/contacts/imports", content=body, headers={**headers, "Content-Type": "text/csv"}
    )
    accepted = time.perf_counter() - started
    assert response.status_code == 202, response.text[:500]
    job = (await client.get(response.headers["location"], headers=headers)).json()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    children = _children_cpu() - children_before
    backend_after = await _backend_cpu(database)
    assert job["status"] == "completed", job
    print(
        f"  {job['total_rows']} rows in {elapsed:.2f} s"
        f" ({job['total_rows'] / elapsed:,.0f} rows/s; the 202 after {accepted:.2f} s"
        f" of it, staging included):"
        f" {job['created_count']} created, {job['updated_count']} updated,"
        f" {job['error_count']} errors"
    )
    backend = (
        "unknown"
        if backend_before is None or backend_after is None
        else f"{backend_after - backend_before:.2f} s"
    )
    load = os.getloadavg()[0]
    print(
        f"  CPU: this process {cpu:.2f} s, its validation worker {children:.2f} s,"
        f" PostgreSQL backends {backend}; load {load:.2f}"
    )
    return elapsed


def _start_fork_server() -> None:
    """Start the validation workers' fork server with the app loaded, as ``rapport serve``
    has it. A worker runs the parent's main script again before its first task (as a
    spawned process does; on Python 3.11 a ``__main__`` preload does not prevent it).
    Under ``rapport serve`` that script imports ``app.cli`` only (22 ms); this one imports
    the whole app, which cost the worker 1.9 s of CPU and held up the first batch the
    import validated ahead, unless the fork server has loaded the app already."""
    forkserver.set_forkserver_preload(["app.main", "app.services.contacts.importing.prepare"])
    forkserver.ensure_running()


async def main(rows: int, again: bool, advocates: float | None) -> None:
    server, name, url = await scratch_database("rapport_bench_import")
    database = Database.from_url(url, pool_size=2)
    try:
        app, _workspace, token = await bench_app(database, url)
        heap.settle()  # as ``rapport serve`` runs it (app.cli.serve.production_app)
        body = csv_rows(rows, advocates=advocates).encode()
        mix = "" if advocates is None else f", {advocates:.0%} advocates, the rest prospects"
        print(f"bench_import: {rows} rows{mix}, {len(body) / 1e6:.1f} MB of CSV")
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=600) as c:
            await _import_once(c, headers, body, database)
            if again:
                await _import_once(c, headers, body, database)
    finally:
        await database.dispose()
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--again", action="store_true", help="re-import: every row updates")
    parser.add_argument(
        "--advocates",
        type=float,
        default=None,
        help="this share of rows advocates (auto-enrolled), the rest prospects; "
        "default: mixed segments",
    )
    args = parser.parse_args()
    _start_fork_server()
    asyncio.run(main(args.rows, args.again, args.advocates))
