"""Contacts API speed beside its ceiling: Rapport's endpoints vs a bare FastAPI + asyncpg app.

With 100,000 contacts stored, ``wrk`` (64 connections, 2 threads) drives, side by side on
the same database and table:

- ``GET /v1/contacts/{id}`` (random ids), ``GET /v1/contacts?limit=50``, ``POST /v1/contacts``
  on Rapport: authenticated, validated, full response, the event written, logs on;
- the same three on ``benchmarks/bare_app.py``: the same SQL and nothing else.

Bare and Rapport run in turn, ``--rounds`` pairs per endpoint, and the table shows the
medians and each pair's ratio: this machine's speed drifts by tens of percent within a
minute (bare creates read 2,475-3,660 req/s in four runs of one hour, their commits
waiting on the disk), so one pair could compare a fast minute with a slow one. Then
Rapport again at half the bare app's median rate (wrk's ``delay()`` paces each
connection) for the p99 latency. Targets (issue 3): reads >= 0.6 of the bare rate, create >= 0.5,
p99 < 50 ms at half the bare rate. Everything runs on 127.0.0.1.

``member`` (issue 18) compares ``GET /v1/contacts/{id}`` with the admin API key and with an
agent's session token, in pairs: under ``visibility: team``, then under ``own`` with every
contact the agent's (each request then checks the contact is the agent's in SQL). Target:
the member token costs at most 10% (rate ratio >= 0.9 in every round; a round is four
half-length runs in ABBA order, so a drift in the machine's speed cancels).

``limiter`` (issue 19) compares ``GET /v1/contacts/{id}`` on a twin server with rate limits
off and on the measured server (limits on, at a limit wrk never reaches), in pairs, with
the load average before each pair. Target: the limiter costs at most 5% (ratio >= 0.95).

    apt-get install wrk                                   # once
    .venv/bin/python benchmarks/bench_api.py             # embedded PostgreSQL
    .venv/bin/python benchmarks/bench_api.py --only create --rounds 5
    .venv/bin/python benchmarks/bench_api.py --only member --rounds 5
    .venv/bin/python benchmarks/bench_api.py --workers 2   # 2 worker processes vs 1

With ``--workers N`` the pairs are Rapport with one worker process and Rapport with N
(``rapport serve --workers N``), and the ratio is N workers' rate over one's. Each run
also reports the CPU it cost, from ``/proc``: the server's processes, PostgreSQL's, wrk's,
and how busy the whole machine was (cores), which says what limits the rate: with wrk,
the server and PostgreSQL on the same two cores, more workers only help while a core is
idle.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import cpu_meter
import httpx
from bench_contacts_common import ROOT, admin, bench_app, csv_rows, scratch_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.db import Database, async_url

BIN = Path(sys.executable).parent
CREATE_BODY = (
    '{"first_name": "Bench", "last_name": "Mark", "segment": "prospect", '
    '"emails": [{"address": "bench@example.com", "type": "work", "primary": true}]}'
)


KINDS = ("get", "list", "create", "member", "limiter")
#: Rapport's limit in these runs: far above any rate wrk reaches, so nothing is refused and
#: the limiter's whole cost (leases included, one every ~200,000 requests) is measured.
BENCH_LIMIT = "10000000"


@dataclass
class Run:
    rps: float
    p99_ms: float
    errors: int
    cpu: dict[str, float] | None = None  # cores used on average: server, postgres, wrk, all


@dataclass
class Meter:
    """What to read CPU from: the server's process tree and PostgreSQL's postmaster."""

    server: int
    postgres: int | None


def _measured(meter: Meter, base: str, script: str, seconds: int, connections: int) -> Run:
    """``_wrk`` with the CPU each side used meanwhile, in cores (CPU seconds / second)."""
    server0 = cpu_meter.tree_cpu(meter.server)
    pg0 = cpu_meter.tree_cpu(meter.postgres) if meter.postgres else 0.0
    mine0, machine0, started = _children_cpu(), cpu_meter.machine(), time.monotonic()
    run = _wrk(base, script, seconds, connections)
    elapsed = time.monotonic() - started
    machine1 = cpu_meter.machine()
    run.cpu = {
        "server": (cpu_meter.tree_cpu(meter.server) - server0) / elapsed,
        "postgres": (
            (cpu_meter.tree_cpu(meter.postgres) - pg0) / elapsed if meter.postgres else 0.0
        ),
        "wrk": (_children_cpu() - mine0) / elapsed,
        "machine": (machine1.busy - machine0.busy) / elapsed,
    }
    return run


def _children_cpu() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _seed(url: str, contacts: int) -> tuple[str, uuid.UUID, list[str]]:
    """A workspace with ``contacts`` imported contacts; returns key, workspace, some ids."""
    database = Database.from_url(url, pool_size=2, statement_timeout_seconds=600)
    try:
        app, workspace, token = await bench_app(database, url)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=600) as c:
            response = await c.post(
                "/v1/contacts/imports", content=csv_rows(contacts).encode(), headers=headers
            )
            assert response.status_code in (201, 202), response.text[:300]
            job = response.json()
            while job["status"] not in ("completed", "failed"):
                await asyncio.sleep(0.5)
                job = (await c.get(f"/v1/contacts/imports/{job['id']}", headers=headers)).json()
            assert job["status"] == "completed", job
        async with database.transaction() as session:
            ids = await session.execute(
                text(
                    "SELECT id FROM contacts WHERE workspace_id = :ws ORDER BY random() LIMIT 2000"
                ),
                {"ws": workspace},
            )
            sample = [str(i) for i in ids.scalars()]
            await session.execute(text("ANALYZE contacts"))
        return token, workspace, sample
    finally:
        await database.dispose()


def _lua(kind: str, token: str, ids: list[str], delay_ms: float | None) -> str:
    auth = f'["Authorization"] = "Bearer {token}", ["Content-Type"] = "application/json"'
    lines = [f"local headers = {{ {auth} }}"]
    lines.append("function init(args) math.randomseed(math.floor(os.clock() * 1e6)) end")
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
    else:
        lines.append(f"local body = '{CREATE_BODY}'")
        lines.append(
            "function request() return wrk.format('POST', '/v1/contacts', headers, body) end"
        )
    if delay_ms is not None:
        # Uniform on [0, 2 * mean]: the same rate, but the connections drift apart. With a
        # fixed delay all 64 fire together after each pause, and the p99 measured the
        # queue of that burst rather than the server at half load.
        lines.append(f"function delay() return math.random() * {2 * delay_ms:.3f} end")
    return "\n".join(lines) + "\n"


def _wrk(base: str, script: str, seconds: int, connections: int) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name, base],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(f.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99_value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    p99 = float(p99_value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    return Run(rps, p99, errors)


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode}); see its log")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def _start(args: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args, env={**os.environ, **env}, cwd=cwd, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


async def main(
    contacts: int, seconds: int, connections: int, kinds: list[str], rounds: int, workers: int
) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    server, name, url = await scratch_database("rapport_bench_api")
    procs: list[subprocess.Popen[bytes]] = []
    logs = Path(tempfile.mkdtemp(prefix="bench_api_"))
    try:
        print(f"bench_api: seeding {contacts:,} contacts ...", flush=True)
        token, workspace_id, ids = await _seed(url, contacts)
        rapport_port, bare_port = _free_port(), _free_port()
        procs.append(_rapport(url, rapport_port, 1, logs / "rapport.log"))
        if workers > 1:
            many_port = _free_port()
            many = _rapport(url, many_port, workers, logs / f"rapport-{workers}.log")
            _wait_ready(f"http://127.0.0.1:{many_port}/healthz", many)
            _wait_ready(f"http://127.0.0.1:{rapport_port}/healthz", procs[0])
            procs.append(many)
            await _scaling(
                token,
                ids,
                kinds,
                rounds,
                seconds,
                connections,
                workers,
                (Meter(procs[0].pid, cpu_meter.postmaster_pid(url)), rapport_port),
                (Meter(many.pid, cpu_meter.postmaster_pid(url)), many_port),
            )
            return
        procs.append(
            _start(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bare_app:app",
                    "--port",
                    str(bare_port),
                    "--host",
                    "127.0.0.1",
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                {"BARE_DATABASE_URL": url, "BARE_WORKSPACE_ID": str(workspace_id)},
                logs / "bare.log",
                ROOT / "benchmarks",
            )
        )
        rapport, bare = f"http://127.0.0.1:{rapport_port}", f"http://127.0.0.1:{bare_port}"
        _wait_ready(f"{rapport}/healthz", procs[0])
        _wait_ready(f"{bare}/v1/contacts?limit=1", procs[1])
        print(
            f"  logs in {logs}; {rounds} rounds of bare then rapport, {seconds} s per run, "
            f"{connections} connections",
            flush=True,
        )
        header = f"{'endpoint':<26}{'bare req/s':>12}{'rapport req/s':>15}{'ratio':>8}"
        header += f"{'p99 full':>10}{'p99 @ half bare':>17}{'target':>8}   ratio per round"
        lines = [header]
        details = []
        postmaster = cpu_meter.postmaster_pid(url)
        meters = (Meter(procs[1].pid, postmaster), Meter(procs[0].pid, postmaster))
        for kind, label, target in (
            ("get", "GET /v1/contacts/{id}", 0.6),
            ("list", "GET /v1/contacts?limit=50", 0.6),
            ("create", "POST /v1/contacts", 0.5),
        ):
            if kind not in kinds:
                continue
            script = _lua(kind, token, ids, None)
            _wrk(bare, script, 3, connections)  # warm-up: pools, caches
            _wrk(rapport, script, 3, connections)
            pairs = [
                (
                    _measured(meters[0], bare, script, seconds, connections),
                    _measured(meters[1], rapport, script, seconds, connections),
                )
                for _ in range(rounds)
            ]
            for i, (b, r) in enumerate(pairs, 1):
                for who, run in (("bare", b), ("rapport", r)):
                    assert run.cpu is not None
                    details.append(
                        f"  {label} round {i} {who}: {run.rps:,.0f}/s, server CPU "
                        f"{run.cpu['server'] / run.rps * 1e6:,.0f} us/request, "
                        f"postgres {run.cpu['postgres'] / run.rps * 1e6:,.0f} us/request; "
                        + _cores(run)
                    )
            ratios = sorted(r.rps / b.rps for b, r in pairs)
            b_rps = statistics.median(b.rps for b, _ in pairs)
            r_rps = statistics.median(r.rps for _, r in pairs)
            r_p99 = statistics.median(r.p99_ms for _, r in pairs)
            pace_ms = connections / (b_rps / 2) * 1000  # per connection, for half the rate
            paced = _wrk(rapport, _lua(kind, token, ids, pace_ms), seconds, connections)
            errors = sum(b.errors + r.errors for b, r in pairs) + paced.errors
            if errors:
                print(f"  {label}: {errors} non-2xx answers")
            lines.append(
                f"{label:<26}{b_rps:>12,.0f}{r_rps:>15,.0f}{statistics.median(ratios):>8.2f}"
                f"{r_p99:>8.1f}ms{paced.p99_ms:>12.1f} ms @{paced.rps:,.0f}/s"
                f"{'>= ' + str(target):>8}   " + " ".join(f"{x:.2f}" for x in ratios)
            )
        if "member" in kinds:
            lines += await _member_rounds(rapport, url, token, ids, seconds, connections, rounds)
        if "limiter" in kinds:
            lines += _limiter_rounds(url, rapport, token, ids, seconds, connections, rounds, logs)
        print("\n".join(lines))
        print("\n".join(details))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _member_rounds(
    rapport: str, url: str, key: str, ids: list[str], seconds: int, connections: int, rounds: int
) -> list[str]:
    """API key then member token, ``rounds`` pairs, under each visibility."""
    admin_headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=rapport, headers=admin_headers, timeout=60) as c:
        body = {"name": "Bench Agent", "email": "agent@bench.example", "role": "agent"}
        member = (await c.post("/v1/members", json=body)).json()["id"]
        session = (await c.post(f"/v1/members/{member}/sessions")).json()["token"]
    # Every contact becomes the agent's before either phase, then VACUUM: rewriting 100,000
    # rows leaves dead tuples autovacuum would otherwise clean up in the middle of a pair.
    database = Database.from_url(url, pool_size=1, statement_timeout_seconds=600)
    try:
        async with database.transaction() as s:
            await s.execute(text("UPDATE contacts SET owner_id = :m"), {"m": member})
    finally:
        await database.dispose()
    engine = create_async_engine(async_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text("VACUUM (ANALYZE) contacts"))
    await engine.dispose()
    lines = [f"{'GET /v1/contacts/{id}':<26}{'key req/s':>12}{'member req/s':>15}{'ratio':>8}"]
    for visibility in ("team", "own"):
        if visibility == "own":
            async with httpx.AsyncClient(base_url=rapport, headers=admin_headers) as c:
                changed = await c.patch("/v1/workspace", json={"visibility": "own"})
                assert changed.status_code == 200, changed.text
            await asyncio.sleep(6)  # the resolver caches a member's visibility for 5 s
        by_key, by_member = _lua("get", key, ids, None), _lua("get", session, ids, None)
        _wrk(rapport, by_key, 3, connections)
        _wrk(rapport, by_member, 3, connections)
        # A round is four half-length runs in ABBA order (BAAB on odd rounds): this machine's
        # speed drifts by tens of percent within a minute, and a plain pair then compares a
        # fast half with a slow one (one quiet-hour pair read 1.37, the next 0.87); ABBA
        # cancels a drift that is linear over the round.
        half = max(1, seconds // 2)
        pairs: list[tuple[float, float]] = []
        errors = 0
        for i in range(rounds):
            order = (by_key, by_member, by_member, by_key)
            if i % 2:
                order = (by_member, by_key, by_key, by_member)
            runs = [(script, _wrk(rapport, script, half, connections)) for script in order]
            errors += sum(run.errors for _, run in runs)
            key_rps = statistics.mean(run.rps for script, run in runs if script is by_key)
            member_rps = statistics.mean(run.rps for script, run in runs if script is by_member)
            pairs.append((key_rps, member_rps))
        if errors:
            print(f"  member/{visibility}: {errors} non-2xx answers")
        ratios = [m / k for k, m in pairs]
        lines.append(
            f"{'  visibility ' + visibility:<26}"
            f"{statistics.median(k for k, _ in pairs):>12,.0f}"
            f"{statistics.median(m for _, m in pairs):>15,.0f}"
            f"{min(ratios):>8.2f}   (worst pair; target >= 0.9) "
            + " ".join(f"{x:.2f}" for x in ratios)
        )
    return lines


def _limiter_rounds(
    url: str,
    rapport: str,
    token: str,
    ids: list[str],
    seconds: int,
    connections: int,
    rounds: int,
    logs: Path,
) -> list[str]:
    """GET /v1/contacts/{id} on a twin server with rate limits off, then on the server with
    them on, ``rounds`` pairs (issue 19: the limiter may cost at most 5%)."""
    port = _free_port()
    env = {
        "DATABASE_URL": url,
        "RAPPORT_SESSION_SIGNING_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "RAPPORT_MIGRATE_ON_START": "false",
        "RAPPORT_SCHEDULER_ENABLED": "false",
        "RAPPORT_WEBHOOKS_ENABLED": "false",
        "RAPPORT_RATE_LIMITS_ENABLED": "false",
    }
    args = [str(BIN / "rapport"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    unlimited = _start(args, env, logs / "rapport-unlimited.log", ROOT)
    try:
        off = f"http://127.0.0.1:{port}"
        _wait_ready(f"{off}/healthz", unlimited)
        script = _lua("get", token, ids, None)
        _wrk(off, script, 3, connections)
        _wrk(rapport, script, 3, connections)
        pairs = []
        for _ in range(rounds):
            load = os.getloadavg()[0]
            pairs.append(
                (
                    _wrk(off, script, seconds, connections),
                    _wrk(rapport, script, seconds, connections),
                    load,
                )
            )
        ratios = [on.rps / o.rps for o, on, _ in pairs]
        lines = [f"{'GET, limiter':<26}{'off req/s':>12}{'on req/s':>15}{'ratio':>8}   load before"]
        for i, (o, on, load) in enumerate(pairs):
            lines.append(
                f"{'  pair ' + str(i + 1):<26}{o.rps:>12,.0f}{on.rps:>15,.0f}"
                f"{on.rps / o.rps:>8.3f}   {load:.2f}"
            )
        lines.append(
            f"{'  median':<26}{'':>12}{'':>15}{statistics.median(ratios):>8.3f}   (target >= 0.95)"
        )
        return lines
    finally:
        unlimited.terminate()
        unlimited.wait(timeout=30)


def _rapport(url: str, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    return _start(
        [
            str(BIN / "rapport"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        {
            "DATABASE_URL": url,
            "RAPPORT_SESSION_SIGNING_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
            "RAPPORT_MIGRATE_ON_START": "false",
            "RAPPORT_SCHEDULER_ENABLED": "false",
            "RAPPORT_WEBHOOKS_ENABLED": "false",
            "RAPPORT_RATE_LIMIT_PER_MINUTE": BENCH_LIMIT,
        },
        log,
        ROOT,
    )


def _cores(run: Run) -> str:
    assert run.cpu is not None
    c = run.cpu
    others = max(0.0, c["machine"] - c["server"] - c["postgres"] - c["wrk"])
    return (
        f"server {c['server']:.2f} + postgres {c['postgres']:.2f} + wrk {c['wrk']:.2f} "
        f"+ others {others:.2f} = {c['machine']:.2f} of {os.cpu_count()} cores"
    )


async def _scaling(
    token: str,
    ids: list[str],
    kinds: list[str],
    rounds: int,
    seconds: int,
    connections: int,
    workers: int,
    one: tuple[Meter, int],
    many: tuple[Meter, int],
) -> None:
    """Pairs of (one worker, ``workers`` workers), interleaved, per endpoint."""
    print(
        f"  {rounds} rounds of 1 worker then {workers} workers, {seconds} s per run, "
        f"{connections} connections; CPU in cores (CPU seconds per second)",
        flush=True,
    )
    lines = [
        f"{'endpoint':<26}{'1 worker':>10}{f'{workers} workers':>12}{'ratio':>8}   ratio per round"
    ]
    details = []
    for kind, label in (
        ("get", "GET /v1/contacts/{id}"),
        ("list", "GET /v1/contacts?limit=50"),
        ("create", "POST /v1/contacts"),
    ):
        if kind not in kinds:
            continue
        script = _lua(kind, token, ids, None)
        for _meter, port in (one, many):  # warm-up: pools, caches, every worker
            _wrk(f"http://127.0.0.1:{port}", script, 3, connections)
        pairs = [
            tuple(
                _measured(meter, f"http://127.0.0.1:{port}", script, seconds, connections)
                for meter, port in (one, many)
            )
            for _ in range(rounds)
        ]
        ratios = [m.rps / o.rps for o, m in pairs]
        errors = sum(o.errors + m.errors for o, m in pairs)
        if errors:
            print(f"  {label}: {errors} non-2xx answers")
        lines.append(
            f"{label:<26}{statistics.median(o.rps for o, _ in pairs):>10,.0f}"
            f"{statistics.median(m.rps for _, m in pairs):>12,.0f}"
            f"{statistics.median(ratios):>8.2f}   " + " ".join(f"{x:.2f}" for x in ratios)
        )
        for i, (o, m) in enumerate(pairs, 1):
            details.append(f"  {label} round {i}: 1 worker {o.rps:,.0f}/s, {_cores(o)}")
            details.append(f"  {label} round {i}: {workers} workers {m.rps:,.0f}/s, {_cores(m)}")
    print("\n".join(lines))
    print("\n".join(details))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument(
        "--rounds", type=int, default=3, help="bare-then-rapport pairs per endpoint"
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--only", nargs="+", choices=KINDS, default=list(KINDS), help="endpoints to measure"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="compare Rapport with this many worker processes against one (not the bare app)",
    )
    args = parser.parse_args()
    asyncio.run(
        main(args.contacts, args.seconds, args.connections, args.only, args.rounds, args.workers)
    )
