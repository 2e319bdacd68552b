"""Shared by the contacts benchmarks: a scratch database and realistic contact data."""

from __future__ import annotations

import csv
import io
import os
import random
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.clock import SystemClock
from app.config import Settings
from app.db import Database, async_url
from app.main import create_app
from app.migrations import upgrade_async
from app.services.provisioning import provision_workspace

ROOT = Path(__file__).resolve().parent.parent
FIRST = ["Maria", "James", "Aiko", "Liam", "Noor", "Olga", "Kwame", "Sofia", "Ethan", "Priya"]
LAST = ["Lopez", "Smith", "Tanaka", "Okafor", "Haddad", "Ivanova", "Mensah", "Rossi", "Kim"]
CITIES = ["Oakland", "Austin", "Denver", "Boston", "Seattle", "Portland", "Chicago"]
AREAS = [212, 303, 312, 415, 510, 512, 617, 206]
SEGMENTS = ["prospect", "client", "client", "advocate", "core_advocate"]
HEADER = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "tags",
    "segment",
    "address.city",
    "consent.email",
    "external_id.crm",
    "lead_source",
]


def server_url() -> str:
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return configured
    from app.embedded_db import embedded_url

    return embedded_url(ROOT / ".rapport", "postgres")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def admin(server: str, sql: str) -> None:
    engine = create_async_engine(
        async_url(with_database(server, "postgres")),
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
    )
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


async def bench_app(database: Database, url: str) -> tuple[Any, uuid.UUID, str]:
    """The API over ``database`` (no scheduler, no webhooks, imports up to 256 MB) and a
    new workspace in it: (app, workspace id, the workspace's admin key)."""
    async with database.transaction() as session:
        workspace, _key, token = await provision_workspace(session, "Bench", at=SystemClock().now())
    settings = Settings(
        environment="test",
        database_url=url,
        scheduler_enabled=False,
        webhooks_enabled=False,
        max_import_bytes=256 * 1_048_576,
        # Far above any rate a benchmark reaches: nothing is refused, the limiter still runs
        # (RAPPORT_RATE_LIMITS_ENABLED=false turns it off, to measure what it costs).
        rate_limit_per_minute=10_000_000,
    )
    return create_app(settings, database=database), workspace.id, token


async def scratch_database(prefix: str) -> tuple[str, str, str]:
    """(server url, database name, database url) of a freshly migrated database."""
    server = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await admin(server, f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    await upgrade_async(url)
    return server, name, url


def _segment(rng: random.Random, i: int, advocates: float | None) -> str:
    drawn = rng.choice(SEGMENTS)  # drawn either way, so the other columns stay the same
    if advocates is None:
        return drawn
    return "advocate" if int((i + 1) * advocates) > int(i * advocates) else "prospect"


def csv_rows(n: int, seed: int = 7, advocates: float | None = None) -> str:
    """``n`` contacts as a CRM would export them: e-mail, phone, tags, an external id.

    Segments are drawn from ``SEGMENTS``; with ``advocates`` (0 to 1), that share of the
    rows, spread evenly, are advocates (auto-enrolled in the Advocate appreciation plan)
    and the rest prospects (enrolled in nothing): the same file otherwise.
    """
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        phone = f"({rng.choice(AREAS)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        writer.writerow(
            [
                first,
                last,
                f"{first.lower()}.{last.lower()}{i}@example.com",
                phone,
                f"{last} & Co" if i % 7 == 0 else "",
                "vip;newsletter" if i % 5 == 0 else "newsletter",
                _segment(rng, i, advocates),
                rng.choice(CITIES),
                "granted" if i % 3 else "denied",
                f"C{i:07d}",
                rng.choice(["open house", "web", "referral"]),
            ]
        )
    return out.getvalue()
