"""Run a scheduler job in separate processes, released together, for replica tests.

The exactly-once guarantee is about replicas: separate processes with their own
connection pools, not coroutines sharing one event loop. Each child imports the app,
connects, reports ``ready`` and waits on stdin; the parent releases them all at once so
their claims really overlap instead of one process finishing before the next has
started. Each child prints its job's result as JSON.

Run as ``python -m tests.scheduler_process MODULE:JOB DATABASE_URL AT``, where
``JOB(db, clock, settings)`` is a scheduler job (the callables in
``app.services.jobs.JOBS``) and ``AT`` is the frozen business time, ISO 8601.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from datetime import datetime
from typing import Any

from tests.conftest import ROOT

READY = b"ready\n"
START_TIMEOUT_SECONDS = 60.0


async def _child(job_path: str, url: str, at: str) -> None:
    from app.clock import FrozenClock
    from app.db import Database
    from tests.conftest import make_settings

    module, _, name = job_path.partition(":")
    job = getattr(importlib.import_module(module), name)
    db = Database.from_url(url, pool_size=1)
    try:
        async with db.transaction():  # connect before the start line, not after it
            pass
        print(READY.decode().strip(), flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        result = await job(db, FrozenClock(datetime.fromisoformat(at)), make_settings())
    finally:
        await db.dispose()
    print(json.dumps(result))


async def run_replicas(job: str, url: str, at: datetime, *, processes: int = 2) -> list[Any]:
    """Run ``job`` in ``processes`` processes at once; returns each one's result."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.scheduler_process",
            job,
            url,
            at.isoformat(),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(processes)
    ]
    try:
        async with asyncio.timeout(START_TIMEOUT_SECONDS):
            for p in procs:
                assert p.stdout is not None
                line = await p.stdout.readline()
                if line != READY:
                    _, err = await p.communicate()
                    raise AssertionError(f"replica did not start: {line!r} {err.decode()}")
        for p in procs:  # the start line: every replica is connected and waiting
            assert p.stdin is not None
            p.stdin.write(b"go\n")
            await p.stdin.drain()
        outputs = [await p.communicate() for p in procs]
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
    errors = [err.decode() for p, (_, err) in zip(procs, outputs, strict=True) if p.returncode]
    assert not errors, errors
    return [json.loads(out) for out, _ in outputs]


if __name__ == "__main__":
    asyncio.run(_child(*sys.argv[1:4]))
