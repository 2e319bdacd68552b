"""The webhook dispatcher: claim due deliveries, send them concurrently, record the results.

Each replica runs one. A round (``run_once``) is three steps: claim a batch with a lease
in one short transaction, send every claimed delivery concurrently (bounded by
``webhook_concurrency``, each free connection to the URL with the fewest attempts in
flight) with one shared HTTP client, and record all results in one more transaction. No
transaction is held open across the network, so a slow receiver never pins a database
connection, and a crash at any point costs at most a re-send after the lease expires:
delivery is at least once, never zero times.

A database outage (``app.outages``) is logged once, not once per round: the loop
waits longer after each failed round (doubling up to ``OUTAGE_BACKOFF_MAX_SECONDS``) and
goes back to its poll interval after the first round that works. Results that cannot be
recorded because the database went away after the sends are recorded again, while the
lease lasts, rather than sent a second time after it.

Time comes from the injected clock, so tests drive retries by moving a ``FrozenClock``
and calling ``run_once`` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import time
from collections import Counter, deque
from collections.abc import Sequence
from datetime import datetime

import aiohttp

from app.clock import Clock
from app.config import WEBHOOK_LEASE_MARGIN_SECONDS, Settings
from app.db import Database
from app.metrics import WEBHOOK_ATTEMPTS
from app.outages import outages, unavailable_cause
from app.services.platform import (
    CheckedTarget,
    Resolver,
    UnsafeUrl,
    check_url,
    public_event_id,
    system_resolver,
)
from app.services.webhooks import health
from app.services.webhooks.bookkeeping import Claimed, Result, claim, finish, insert_attempts
from app.services.webhooks.retry import next_attempt_at
from app.services.webhooks.sender import Outcome, new_session, payload_bytes, send

log = logging.getLogger("rapport.webhooks")
OUTAGE_BACKOFF_MAX_SECONDS = 5.0


class _Untried:
    """A claimed delivery left unsent because its lease could run out mid-attempt."""


UNTRIED = _Untried()

#: What a round did with one claimed delivery: an attempt's outcome, untried, or
#: ``None`` when its endpoint was disabled after the fan-out.
Tried = Outcome | _Untried | None


def worker_name() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


class WebhookDispatcher:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        *,
        resolver: Resolver = system_resolver,
        client: aiohttp.ClientSession | None = None,
        rng: random.Random | None = None,
        name: str | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.resolver = resolver
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not security)
        self.name = name or worker_name()
        self.schedule = settings.retry_schedule
        self._client = client
        self._owns_client = client is None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def client(self) -> aiohttp.ClientSession:
        """Created on first use: an aiohttp session must be made inside the running loop."""
        if self._client is None:
            self._client = new_session(
                timeout_seconds=self.settings.webhook_timeout_seconds,
                concurrency=self.settings.webhook_concurrency,
            )
        return self._client

    def _send_window(self) -> float:
        """Seconds after the claim in which an attempt may still start.

        Every attempt must end before the lease does, or another replica could claim
        the delivery and send it a second time. An attempt lasts at most the timeout, so
        the last one may start ``timeout`` (plus a margin for recording) before the lease
        ends; deliveries whose turn comes later go back to the queue untried.
        """
        s = self.settings
        return s.webhook_lease_seconds - s.webhook_timeout_seconds - WEBHOOK_LEASE_MARGIN_SECONDS

    async def run_once(self) -> int:
        """Claim and deliver one batch; returns how many deliveries were claimed."""
        now = self.clock.now()
        claimed_at = time.monotonic()
        async with self.db.transaction() as session:
            claimed = await claim(
                session,
                me=self.name,
                now=now,
                lease_seconds=self.settings.webhook_lease_seconds,
                batch=self.settings.webhook_batch_size,
            )
        outages.recovered()
        if not claimed:
            return 0
        outcomes = await self._send_all(claimed, send_until=claimed_at + self._send_window())
        lease_ends = claimed_at + self.settings.webhook_lease_seconds
        await self._record_while_leased(claimed, outcomes, until=lease_ends)
        return len(claimed)

    async def _record_while_leased(
        self, claimed: Sequence[Claimed], outcomes: list[Tried], *, until: float
    ) -> None:
        """``_record``, tried again while the database is unavailable and the lease
        lasts: the receivers have the round's events, and a lease left to expire would
        send them all again. A retry records the attempts of deliveries still leased
        only, so a first try whose commit was applied but never acknowledged is not
        recorded twice."""
        delay = min(0.5, self.settings.webhook_poll_seconds)
        retry = False
        while True:
            began = time.perf_counter()
            try:
                await self._record(claimed, outcomes, retry=retry)
                return
            except Exception as exc:
                cause = unavailable_cause(exc)
                margin = WEBHOOK_LEASE_MARGIN_SECONDS + self.settings.db_timeout_seconds
                if cause is None or time.monotonic() + delay + margin > until:
                    raise
                outages.failed(cause, where="webhook dispatcher", began=began)
            await asyncio.sleep(delay)
            delay, retry = min(2 * delay, OUTAGE_BACKOFF_MAX_SECONDS), True

    async def _send_all(self, claimed: Sequence[Claimed], *, send_until: float) -> list[Tried]:
        """Send a round's deliveries, ``webhook_concurrency`` at a time, each free
        connection going to the URL with the fewest attempts in flight among those with
        deliveries waiting: a receiver that is slow to answer (or never does, until the
        timeout) then holds no more connections than any other URL of the round while
        the others have deliveries to send, and the round's other deliveries go out
        meanwhile instead of queueing behind its attempts. A URL alone in the round, or
        the last one with deliveries left, takes every free connection."""
        targets: dict[str, asyncio.Task[CheckedTarget]] = {}
        payloads: dict[int, bytes] = {}
        outcomes: list[Tried] = [None] * len(claimed)  # None: the endpoint is disabled
        waiting: dict[str, deque[int]] = {}
        for i, d in enumerate(claimed):
            if d.enabled:
                waiting.setdefault(d.url, deque()).append(i)
        in_flight: Counter[str] = Counter()

        async def connection() -> None:  # one of the round's concurrent senders
            while waiting:
                url = min(waiting, key=in_flight.__getitem__)
                queue = waiting[url]
                i = queue.popleft()
                if not queue:
                    del waiting[url]
                in_flight[url] += 1
                try:
                    outcomes[i] = await self._attempt(claimed[i], targets, payloads, send_until)
                finally:
                    in_flight[url] -= 1

        senders = min(self.settings.webhook_concurrency, len(claimed))
        await asyncio.gather(*(connection() for _ in range(senders)))
        return outcomes

    async def _attempt(
        self,
        d: Claimed,
        targets: dict[str, asyncio.Task[CheckedTarget]],
        payloads: dict[int, bytes],
        send_until: float,
    ) -> Tried:
        """One delivery's attempt, unless its lease could run out during it (``UNTRIED``);
        a round checks each URL once and builds each event's payload once."""
        if time.monotonic() > send_until:
            return UNTRIED
        at = self.clock.now()
        if d.url not in targets:  # one DNS check per URL per round
            targets[d.url] = asyncio.ensure_future(self._check(d.url))
        try:
            target = await targets[d.url]
        except UnsafeUrl as exc:
            return Outcome(at, error=f"refused by the SSRF guard: {exc.reason}"[:500])
        payload = payloads.get(d.event_id)
        if payload is None:
            payload = payloads[d.event_id] = payload_bytes(
                d.event_type, d.occurred_at, d.data, d.actor
            )
        return await send(
            self.client,
            target,
            msg_id=public_event_id(d.event_uid),
            payload=payload,
            secrets=d.secrets(at),
            at=at,
        )

    async def _check(self, url: str) -> CheckedTarget:
        return await check_url(
            url,
            allow_private=self.settings.webhook_allow_private_networks,
            allow_http=self.settings.webhook_allow_http,
            resolver=self.resolver,
        )

    def _result(self, d: Claimed, outcome: Tried, now: datetime) -> Result:
        if outcome is None:  # endpoint disabled since the fan-out
            return Result(d, "cancelled", tried=False)
        if isinstance(outcome, _Untried):  # its turn came too late in the lease
            return Result(d, "pending", tried=False, next_attempt_at=now)
        code, error = outcome.status_code, outcome.error
        if outcome.succeeded:
            return Result(d, "succeeded", tried=True, status_code=code)
        if code == 410:
            return Result(d, "failed", tried=True, status_code=code, error=error)
        retry_at = next_attempt_at(
            self.schedule,
            d.attempt_count + 1,
            now,
            retry_after=outcome.retry_after,
            rng=self.rng,
        )
        status = "failed" if retry_at is None else "pending"
        return Result(d, status, True, status_code=code, error=error, next_attempt_at=retry_at)

    async def _record(
        self, claimed: Sequence[Claimed], outcomes: list[Tried], *, retry: bool = False
    ) -> None:
        now = self.clock.now()
        results = [self._result(d, o, now) for d, o in zip(claimed, outcomes, strict=True)]
        attempts = [
            (d, o) for d, o in zip(claimed, outcomes, strict=True) if isinstance(o, Outcome)
        ]
        async with self.db.transaction() as session:
            ours = await finish(session, results, me=self.name, now=now)
            if retry:
                attempts = [(d, o) for d, o in attempts if d.id in ours]
            await insert_attempts(session, attempts)
            await health.apply(
                session,
                [r for r in results if r.delivery.id in ours],
                now=now,
                disable_after_days=self.settings.webhook_disable_after_days,
            )
        for _, outcome in attempts:
            WEBHOOK_ATTEMPTS.labels("succeeded" if outcome.succeeded else "failed").inc()
        if len(ours) < len(results):
            log.warning("lost %d webhook leases before recording", len(results) - len(ours))

    # --- background loop -------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="webhook-dispatcher")

    async def _loop(self) -> None:
        poll = self.settings.webhook_poll_seconds
        wait = poll
        while not self._stopping.is_set():
            began = time.perf_counter()
            try:
                claimed = await self.run_once()
                wait = poll
            except Exception as exc:
                cause = unavailable_cause(exc)
                if cause is None:
                    log.exception("webhook dispatch round failed")
                    wait = poll
                else:  # back off while the database is away; logged once per outage
                    outages.failed(cause, where="webhook dispatcher", began=began)
                    wait = min(2 * wait, max(poll, OUTAGE_BACKOFF_MAX_SECONDS))
                claimed = 0
            if claimed < self.settings.webhook_batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=wait)

    async def stop(self) -> None:
        """Let the round in flight finish (bounded by the HTTP timeout), then close."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(
                    self._task, timeout=self.settings.webhook_timeout_seconds + 5
                )
            except TimeoutError:
                log.warning("webhook dispatcher did not stop in time; its leases will expire")
            self._task = None
        if self._owns_client and self._client is not None:
            await self._client.close()
            self._client = None
