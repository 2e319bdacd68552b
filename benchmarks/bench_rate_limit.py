"""What the rate limiter adds to one request, measured alone (issue 19: at most 5% of a GET).

``bench_api.py --only limiter`` compares whole servers with the limiter off and on, but on
a shared 2-core machine their rates move by more than 5% between runs. This measures the
limiter's own work instead, on a scratch database:

- ``take`` in memory: a request drawing a token from its replica's lease, with the
  ``RateLimit`` and ``RateLimit-Policy`` header values formatted, as every request does;
- a lease: the statement that takes tokens from the shared bucket (one per ``lease_size``
  requests: 12 at 600 a minute, 200,000 at the benchmarks' 10,000,000).

    .venv/bin/python benchmarks/bench_rate_limit.py
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench_contacts_common import admin, scratch_database

from app.db import Database
from app.services.platform.rate_limits import RateLimiter, lease_size
from app.services.provisioning import provision_workspace


async def main(calls: int) -> None:
    server, name, url = await scratch_database("rapport_bench_limit")
    database = Database.from_url(url, pool_size=2)
    try:
        at = datetime(2026, 12, 7, tzinfo=UTC)
        async with database.transaction() as session:
            workspace, key, _token = await provision_workspace(session, "Bench", at=at)
        limiter = RateLimiter()
        per_minute = 10_000_000
        rounds = []
        for _ in range(5):
            start = time.process_time()
            for _ in range(calls):
                decision = await limiter.take(
                    database, workspace.id, key.id, per_minute=per_minute, burst=per_minute, at=at
                )
                _ = (decision.policy_header, decision.header)
            rounds.append((time.process_time() - start) / calls * 1e6)
        print(
            f"take + headers, in memory: median {statistics.median(rounds):.2f} us a request "
            f"(rounds: {', '.join(f'{r:.2f}' for r in rounds)}; one lease per "
            f"{lease_size(per_minute):,} requests at {per_minute:,}/min)"
        )
        leases = []
        small, subject = RateLimiter(), uuid.uuid4()
        for i in range(200):  # bursts of 50: each request leases its one token
            begin = time.perf_counter()
            await small.take(
                database,
                workspace.id,
                subject,
                per_minute=60,
                burst=50,
                at=at + timedelta(seconds=i),
            )
            leases.append((time.perf_counter() - begin) * 1e3)
        print(
            f"a lease (one statement, its own transaction): median "
            f"{statistics.median(leases):.2f} ms wall, p90 "
            f"{statistics.quantiles(leases, n=10)[-1]:.2f} ms (200 leases)"
        )
    finally:
        await database.dispose()
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().calls))
