"""A mixed soak: API reads and writes at half capacity for ten minutes while the scheduler
emits due touches and the dispatcher delivers every event to a local receiver.

    .venv/bin/python benchmarks/bench_soak.py                  # 10 minutes, one worker
    .venv/bin/python benchmarks/bench_soak.py --minutes 2 --workers 2

On a scratch database (embedded PostgreSQL, or the server in ``DATABASE_URL``) with
``--contacts`` contacts: a workspace whose send window is the whole day, a touch plan
enrolling contacts tagged ``soak`` with an automated touch due at once, and a webhook
endpoint on a receiver process on 127.0.0.1. ``rapport serve`` runs with its scheduler
(every 5 s) and dispatcher on. One ``wrk`` per route (get a contact, list contacts,
create a contact, a third of them tagged ``soak``, list touches) first finds each route's
rate alone, then all run together at half the mix's capacity: rate R such that
sum(share_i * R / alone_i) = 0.5. Every 10 s the server's memory (RSS of its process
tree) and the backlog (deliveries pending, touches due but not emitted) are sampled.

At the end: each route's rate, p50 and p99 and non-2xx answers; memory at the first
sample, at the end, and its growth; the backlog's peak; then, with the load stopped,
how long the backlog took to drain, and that every event was delivered (the receiver
saw each event id; duplicates are counted). Exit 1 if any event was not delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cpu_meter
import httpx
from bench_contacts_common import ROOT, admin, bench_app, csv_rows, scratch_database
from sqlalchemy import text

from app.db import Database

BIN = Path(sys.executable).parent
SHARES = {"get": 0.50, "list": 0.15, "create": 0.25, "touches": 0.10}
LABELS = {
    "get": "GET /v1/contacts/{id}",
    "list": "GET /v1/contacts?limit=50",
    "create": "POST /v1/contacts",
    "touches": "GET /v1/touches?limit=50",
}
CONNECTIONS = {"get": 16, "list": 8, "create": 16, "touches": 4}
PLAIN = '{"first_name": "Soak", "last_name": "Plain", "segment": "prospect"}'
TAGGED = (
    '{"first_name": "Soak", "last_name": "Tagged", "segment": "prospect", "tags": ["soak"], '
    '"emails": [{"address": "soak@example.com"}], "consent": {"email": {"status": "granted"}}}'
)


# --- the receiver: answers 200, writes each webhook-id it is sent to a file -----------


class _Receiver(asyncio.Protocol):
    def __init__(self, out: object) -> None:
        self.out = out
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (head_end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length, msg_id = 0, b""
            for line in self.buffer[:head_end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"webhook-id":
                    msg_id = value.strip()
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            self.out.write(msg_id + b"\n")  # type: ignore[attr-defined]
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")


def _receive(path: str, ports: multiprocessing.Queue[int]) -> None:
    async def main() -> None:
        with open(path, "ab", buffering=0) as out:  # noqa: ASYNC230 (its own process)
            loop = asyncio.get_running_loop()
            server = await loop.create_server(lambda: _Receiver(out), "127.0.0.1", 0)
            ports.put(server.sockets[0].getsockname()[1])
            await server.serve_forever()

    asyncio.run(main())


# --- load -----------------------------------------------------------------------------


def _lua(kind: str, token: str, ids: list[str], delay_ms: float | None) -> str:
    auth = f'["Authorization"] = "Bearer {token}", ["Content-Type"] = "application/json"'
    lines = [
        f"local headers = {{ {auth} }}",
        "function init(args) math.randomseed(math.floor(os.clock() * 1e6)) end",
    ]
    if kind == "get":
        lines.append("local ids = {" + ",".join(f'"{i}"' for i in ids) + "}")
        lines.append(
            "function request() return wrk.format('GET', '/v1/contacts/' .. "
            "ids[math.random(#ids)], headers) end"
        )
    elif kind == "list":
        lines.append(
            "function request() return wrk.format('GET', '/v1/contacts?limit=50', headers) end"
        )
    elif kind == "touches":
        lines.append(
            "function request() return wrk.format('GET', '/v1/touches?limit=50', headers) end"
        )
    else:
        lines.append(f"local plain, tagged = '{PLAIN}', '{TAGGED}'")
        lines.append(
            "function request() local body = plain; if math.random(3) == 1 then "
            "body = tagged end; return wrk.format('POST', '/v1/contacts', headers, body) end"
        )
    if delay_ms is not None:  # uniform on [0, 2 * mean], so the connections drift apart
        lines.append(f"function delay() return math.random() * {2 * delay_ms:.3f} end")
    return "\n".join(lines) + "\n"


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _parse(out: str) -> Result:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Result(rps, _ms(*p50), _ms(*p99), int(non_2xx.group(1)) if non_2xx else 0)


def _wrk(base: str, script: str, seconds: float, connections: int) -> subprocess.Popen[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    return subprocess.Popen(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{int(seconds)}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            f.name,
            base,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> Result:
    out, _ = proc.communicate()
    script = proc.args[-2]  # type: ignore[index]
    with contextlib.suppress(OSError):
        os.unlink(script)
    return _parse(out)


# --- sampling -------------------------------------------------------------------------


@dataclass
class Sample:
    at: float
    rss_mb: float
    pending: int
    due: int


@dataclass
class Samples:
    taken: list[Sample] = field(default_factory=list)


async def _backlog(db: Database) -> tuple[int, int]:
    async with db.transaction() as session:
        pending = await session.scalar(
            text("SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded'")
        )
        due = await session.scalar(
            text("SELECT count(*) FROM touches WHERE status = 'scheduled' AND due_at <= now()")
        )
    return int(pending or 0), int(due or 0)


async def _sample(db: Database, server_pid: int, started: float, samples: Samples) -> None:
    pending, due = await _backlog(db)
    samples.taken.append(
        Sample(time.monotonic() - started, cpu_meter.rss_mb(server_pid), pending, due)
    )


async def _setup(base: str, token: str, receiver_port: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        workspace = await client.get("/v1/workspace")
        patched = await client.patch(
            "/v1/workspace",
            json={"time_zone": "UTC", "send_window": {"start": "00:00", "end": "23:59"}},
            headers={"If-Match": workspace.headers["etag"]},
        )
        assert patched.status_code == 200, patched.text
        plan = await client.post(
            "/v1/touch-plans",
            json={
                "name": "Soak hello",
                "audience": {"tags": ["soak"]},
                "referral_reminder": "Know anyone moving?",
                "steps": [
                    {
                        "channel": "email",
                        "content_kind": "newsletter",
                        "mode": "automated",
                        "subject_template": "Hello {{ contact.first_name }}",
                        "body_template": "Hello. {{ referral_reminder }}",
                        "timing": {"kind": "after_enrollment", "days": 0},
                    }
                ],
            },
        )
        assert plan.status_code == 201, plan.text
        hook = await client.post(
            "/v1/webhook-endpoints", json={"url": f"http://127.0.0.1:{receiver_port}/hook"}
        )
        assert hook.status_code == 201, hook.text


async def _seed(url: str, contacts: int) -> tuple[str, list[str]]:
    database = Database.from_url(url, pool_size=2)
    try:
        app, workspace, token = await bench_app(database, url)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=600) as c:
            job = (
                await c.post(
                    "/v1/contacts/imports",
                    content=csv_rows(contacts).encode(),
                    headers=headers,
                )
            ).json()
            while job["status"] not in ("completed", "failed"):
                await asyncio.sleep(0.5)
                job = (await c.get(f"/v1/contacts/imports/{job['id']}", headers=headers)).json()
            assert job["status"] == "completed", job
        async with database.transaction() as session:
            ids = await session.execute(
                text("SELECT id FROM contacts WHERE workspace_id = :ws LIMIT 2000"),
                {"ws": workspace},
            )
            sample = [str(i) for i in ids.scalars()]
            await session.execute(text("ANALYZE"))
        return token, sample
    finally:
        await database.dispose()


async def soak(contacts: int, minutes: float, workers: int, calibrate_seconds: int) -> int:
    server, name, url = await scratch_database("rapport_soak")
    logs = Path(tempfile.mkdtemp(prefix="bench_soak_"))
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    received = logs / "received.txt"
    receiver = multiprocessing.Process(target=_receive, args=(str(received), ports), daemon=True)
    receiver.start()
    proc: subprocess.Popen[bytes] | None = None
    db = Database.from_url(url, pool_size=1)
    try:
        receiver_port = ports.get(timeout=30)
        print(f"bench_soak: seeding {contacts:,} contacts ...", flush=True)
        token, ids = await _seed(url, contacts)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "RAPPORT_ENVIRONMENT": "development",
            "RAPPORT_MIGRATE_ON_START": "false",
            "RAPPORT_SCHEDULER_ENABLED": "true",
            "RAPPORT_SCHEDULER_INTERVAL_SECONDS": "5",
            "RAPPORT_WEBHOOKS_ENABLED": "true",
            "RAPPORT_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
            "RAPPORT_WEBHOOK_ALLOW_HTTP": "true",
            "RAPPORT_LOG_LEVEL": "WARNING",
        }
        with (logs / "rapport.log").open("wb") as log:
            proc = subprocess.Popen(  # noqa: ASYNC220 (once, before the load)
                [str(BIN / "rapport"), "serve", "--port", str(port), "--workers", str(workers)],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        await _ready(base, proc)
        await _setup(base, token, receiver_port)
        print(f"  logs in {logs}; each route alone for {calibrate_seconds} s ...", flush=True)
        alone = {}
        for kind in SHARES:
            alone[kind] = _finish(
                _wrk(base, _lua(kind, token, ids, None), calibrate_seconds, CONNECTIONS[kind])
            ).rps
        rate = 0.5 / sum(share / alone[k] for k, share in SHARES.items())
        print(
            "  alone: "
            + ", ".join(f"{LABELS[k]} {alone[k]:,.0f}/s" for k in SHARES)
            + f"; the mix at half capacity: {rate:,.0f} requests/s",
            flush=True,
        )
        seconds = minutes * 60
        started = time.monotonic()
        cpu0 = (cpu_meter.tree_cpu(proc.pid), cpu_meter.machine())
        postmaster = cpu_meter.postmaster_pid(url)
        pg0 = cpu_meter.tree_cpu(postmaster) if postmaster else 0.0
        loads = {
            kind: _wrk(
                base,
                _lua(kind, token, ids, CONNECTIONS[kind] / (share * rate) * 1000),
                seconds,
                CONNECTIONS[kind],
            )
            for kind, share in SHARES.items()
        }
        samples = Samples()
        while any(p.poll() is None for p in loads.values()):
            await _sample(db, proc.pid, started, samples)
            await asyncio.sleep(10)
        results = {kind: _finish(p) for kind, p in loads.items()}
        elapsed = time.monotonic() - started
        server_cores = (cpu_meter.tree_cpu(proc.pid) - cpu0[0]) / elapsed
        machine_cores = (cpu_meter.machine().busy - cpu0[1].busy) / elapsed
        pg_cores = (cpu_meter.tree_cpu(postmaster) - pg0) / elapsed if postmaster else 0.0
        await _sample(db, proc.pid, started, samples)
        drain_started = time.monotonic()
        while (backlog := await _backlog(db)) != (0, 0):
            if time.monotonic() - drain_started > 600:
                break
            await asyncio.sleep(1)
        drained = time.monotonic() - drain_started
        return await _report(
            db, results, samples, received, drained, backlog, server_cores, pg_cores, machine_cores
        )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)
        receiver.terminate()
        receiver.join(10)
        await db.dispose()
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit("rapport serve exited; see its log")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.5)
    raise SystemExit("rapport serve did not become ready")


async def _report(
    db: Database,
    results: dict[str, Result],
    samples: Samples,
    received: Path,
    drained: float,
    backlog: tuple[int, int],
    server_cores: float,
    pg_cores: float,
    machine_cores: float,
) -> int:
    print(f"{'route':<28}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
    for kind, r in results.items():
        print(f"{LABELS[kind]:<28}{r.rps:>8,.0f}{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}{r.errors:>9}")
    first, last = samples.taken[0], samples.taken[-1]
    peak = max(samples.taken, key=lambda s: s.rss_mb)
    print(
        f"memory (server RSS): {first.rss_mb:.0f} MB at {first.at:.0f} s, "
        f"{last.rss_mb:.0f} MB at the end ({last.at:.0f} s), peak {peak.rss_mb:.0f} MB; "
        f"growth {last.rss_mb - first.rss_mb:+.0f} MB; after the first minute "
        f"{last.rss_mb - _at(samples, 60).rss_mb:+.0f} MB"
    )
    print(
        f"backlog: deliveries not yet succeeded peak {max(s.pending for s in samples.taken)}, "
        f"median {statistics.median(s.pending for s in samples.taken):.0f}; due touches not "
        f"emitted peak {max(s.due for s in samples.taken)}; at the end of the load "
        f"{last.pending} and {last.due}; drained {drained:.1f} s later"
    )
    print(
        f"CPU during the load: server {server_cores:.2f} cores, PostgreSQL {pg_cores:.2f}, "
        f"the whole machine {machine_cores:.2f} of {os.cpu_count()} (wrk and others included)"
    )
    async with db.transaction() as session:
        # Every event recorded once the endpoint existed is owed to the receiver.
        events = int(
            await session.scalar(
                text(
                    "SELECT count(*) FROM events WHERE occurred_at > "
                    "(SELECT min(created_at) FROM webhook_endpoints)"
                )
            )
            or 0
        )
        deliveries = dict(
            (
                await session.execute(
                    text("SELECT status, count(*) FROM webhook_deliveries GROUP BY status")
                )
            ).all()
        )
        touches = dict(
            (
                await session.execute(text("SELECT status, count(*) FROM touches GROUP BY status"))
            ).all()
        )
    ids = [line for line in received.read_bytes().split(b"\n") if line]  # noqa: ASYNC240
    distinct = len(set(ids))
    print(
        f"events {events:,}; deliveries {deliveries}; touches {touches}; the receiver got "
        f"{len(ids):,} requests for {distinct:,} distinct events ({len(ids) - distinct} repeats)"
    )
    owed = sum(deliveries.values())
    complete = backlog == (0, 0) and distinct == events == owed and set(deliveries) == {"succeeded"}
    print("every event delivered" if complete else "NOT every event was delivered")
    return 0 if complete else 1


def _at(samples: Samples, second: float) -> Sample:
    return min(samples.taken, key=lambda s: abs(s.at - second))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--calibrate-seconds", type=int, default=8)
    args = parser.parse_args()
    sys.exit(asyncio.run(soak(args.contacts, args.minutes, args.workers, args.calibrate_seconds)))
