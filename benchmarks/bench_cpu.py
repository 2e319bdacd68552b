"""CPU per request of the contacts endpoints, in process: for comparing two versions.

``bench_api.py`` measures requests per second against the bare app, but on a shared
2-core machine its figures move by tens of percent between runs. This drives the ASGI
app directly (no HTTP server, no load tool; the app's logging and metrics on, as in
production) and reads this process's CPU time per request, which is what a change to the
request path changes. Run it on two checkouts in turn, several times, to compare:

    .venv/bin/python benchmarks/bench_cpu.py
    git worktree add /tmp/before HEAD~3
    .venv/bin/python benchmarks/bench_cpu.py --root /tmp/before

Each run seeds a scratch database with 300 contacts through ``POST /v1/contacts`` and
prints, for ``GET /v1/contacts/{id}`` and ``POST /v1/contacts``, the median and minimum
of five rounds of ``--requests`` requests (16 in flight).

``--members`` instead compares ``GET /v1/contacts/{id}`` by credential, the rounds
interleaved (key, leader, agent, key, ...): the admin API key, a leader's session token
(sees everything: the ``team`` path) and an agent's under ``visibility: own`` owning every
contact (each read carries the visibility condition). Issue 18's target: a member token
costs at most 10% more than the key.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PARSER = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
PARSER.add_argument("--requests", type=int, default=1000, help="requests per round")
PARSER.add_argument(
    "--members", action="store_true", help="compare API key and member tokens on GET"
)
PARSER.add_argument(
    "--root",
    type=Path,
    default=Path(__file__).resolve().parent.parent,
    help="the checkout whose app is measured (default: this one)",
)
ARGUMENTS = PARSER.parse_args()
sys.path.insert(0, str(ARGUMENTS.root.resolve()))  # before anything imports the app

from bench_contacts_common import admin, bench_app, scratch_database  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.db import Database  # noqa: E402
from app.logging_setup import json_handler  # noqa: E402

CREATE_BODY = (
    b'{"first_name": "Bench", "last_name": "Mark", "segment": "prospect", '
    b'"emails": [{"address": "bench@example.com", "type": "work", "primary": true}]}'
)
Request = tuple[str, str, bytes]


async def _call(app: Any, headers: list[tuple[bytes, bytes]], request: Request) -> bytes:
    """One request through the ASGI app; returns the body (asserting a 2xx status)."""
    method, path, body = request
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 5555),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    assert 200 <= status < 300, (status, b"".join(chunks)[:300])
    return b"".join(chunks)


async def _drive(
    app: Any, headers: list[tuple[bytes, bytes]], next_request: Callable[[], Request], n: int
) -> None:
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await _call(app, headers, next_request())

    await asyncio.gather(*(worker() for _ in range(16)))


async def _cpu_per_request(
    app: Any, headers: list[tuple[bytes, bytes]], next_request: Callable[[], Request], n: int
) -> list[float]:
    await _drive(app, headers, next_request, 200)  # warm: statement caches, pools
    rounds = []
    for _ in range(5):
        start = time.process_time()
        await _drive(app, headers, next_request, n)
        rounds.append((time.process_time() - start) / n * 1e6)
    return rounds


async def _members(
    app: Any, database: Database, headers: list[tuple[bytes, bytes]], get: Any, n: int
) -> None:
    """CPU per GET by the key, a leader's token and an agent's (``own``), interleaved."""
    tokens: dict[str, list[tuple[bytes, bytes]]] = {"API key": headers}
    for role in ("leader", "agent"):
        body = json.dumps({"name": role, "email": f"{role}@bench.example", "role": role})
        member = json.loads(await _call(app, headers, ("POST", "/v1/members", body.encode())))
        path = f"/v1/members/{member['id']}/sessions"
        token = json.loads(await _call(app, headers, ("POST", path, b"")))["token"]
        tokens[f"{role} token"] = [
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
        ]
        if role == "agent":
            own = b'{"visibility": "own"}'
            await _call(app, headers, ("PATCH", "/v1/workspace", own))
            async with database.transaction() as session:
                await session.execute(
                    text("UPDATE contacts SET owner_id = :m"), {"m": member["id"]}
                )
    rounds: dict[str, list[float]] = {label: [] for label in tokens}
    for credential in tokens.values():
        await _drive(app, credential, get, 200)  # warm: caches, pools
    for _ in range(5):
        for label, credential in tokens.items():
            start = time.process_time()
            await _drive(app, credential, get, n)
            rounds[label].append((time.process_time() - start) / n * 1e6)
    key = statistics.median(rounds["API key"])
    for label, values in rounds.items():
        print(
            f"GET /v1/contacts/{{id}} by {label:13s} CPU per request: median "
            f"{statistics.median(values):,.0f} us ({statistics.median(values) / key:.2f} of the "
            f"key's; rounds: {', '.join(f'{r:,.0f}' for r in values)})"
        )


async def main(requests: int) -> None:
    server, name, url = await scratch_database("rapport_cpu")
    database = Database.from_url(url, pool_size=10)
    try:
        app, _workspace, token = await bench_app(database, url)
        headers = [
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
        ]
        create: Request = ("POST", "/v1/contacts", CREATE_BODY)
        ids = [json.loads(await _call(app, headers, create))["id"] for _ in range(300)]
        turn = iter(range(10**9))

        def get() -> Request:
            return ("GET", f"/v1/contacts/{ids[next(turn) % len(ids)]}", b"")

        if ARGUMENTS.members:
            await _members(app, database, headers, get, requests)
            return
        for label, next_request in (("GET /v1/contacts/{id}", get), ("POST /v1/contacts", None)):
            rounds = await _cpu_per_request(
                app, headers, next_request or (lambda: create), requests
            )
            print(
                f"{label:24s} CPU per request: median {statistics.median(rounds):,.0f} us, "
                f"min {min(rounds):,.0f} us (rounds: {', '.join(f'{r:,.0f}' for r in rounds)})"
            )
    finally:
        await database.dispose()
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    import uvloop

    root = logging.getLogger()
    with open(os.devnull, "w") as devnull:  # the access log is written, to nowhere
        handlers, root.handlers[:] = list(root.handlers), [json_handler(devnull)]
        root.setLevel("INFO")
        uvloop.install()
        try:
            asyncio.run(main(ARGUMENTS.requests))
        finally:
            root.handlers[:] = handlers
