"""What receivers really answer, over real sockets: every shape ends as a recorded outcome.

A raw asyncio server on 127.0.0.1 writes exact bytes back, so the tests cover answers
the friendly test receiver never produces: no Content-Length, chunked bodies larger than
what we keep, ``Connection: close``, HTTP/1.0, oversized heads, garbage. None of them may
break a dispatcher round, and none may leave a connection that misreads the next answer.
HTTPS is checked against a local certificate authority (trustme): the request goes to
the pinned address while TLS verifies the original host name.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
import trustme

from app.db import Database
from app.models.webhooks.tables import WebhookAttempt, WebhookDelivery
from app.services.webhooks.sender import new_session
from tests.conftest import Tenant
from tests.test_ssrf import fixed
from tests.webhook_helpers import harness, register_endpoint
from tests.webhook_receiver import running

Reply = Callable[[int], bytes]  # request number (0-based) -> raw response bytes


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


@asynccontextmanager
async def raw_server(
    reply: Reply, *, close_after_reply: bool = False, tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[str, list[bytes]]]:
    requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                requests.append(await _read_request(reader))
                writer.write(reply(len(requests) - 1))
                await writer.drain()
                if close_after_reply:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}/hook", requests
    finally:
        server.close()
        await server.wait_closed()


def always_raw(raw: bytes) -> Reply:
    return lambda _n: raw


def chunked(body: bytes, size: int = 1000) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    parts = [b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces]
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    return head + b"".join(parts) + b"0\r\n\r\n"


async def deliver(
    db: Database, tenant: Tenant, url: str, events: int = 1
) -> list[tuple[str, int | None]]:
    """Send ``events`` events one round at a time (so connections get reused)."""
    async with harness(db, webhook_batch_size=1, webhook_concurrency=1) as h:
        await h.endpoint(tenant, url)
        for _ in range(events):
            await h.emit(tenant, "touch.due")
            await h.dispatcher.run_once()
        return [(d.status, d.last_status_code) for d in await h.deliveries()]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"HTTP/1.1 204 No Content\r\n\r\n", id="204-without-length"),
        pytest.param(chunked(b"x" * 10_000), id="chunked-bigger-than-kept"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok", id="close"
        ),
        pytest.param(b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok", id="http-1.0"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n" + b"y" * 100_000, id="large-body"
        ),
    ],
)
async def test_every_well_formed_success_counts_and_the_next_send_reads_its_own_answer(
    db: Database, tenant: Tenant, raw: bytes
) -> None:
    async with raw_server(always_raw(raw)) as (url, requests):
        results = await deliver(db, tenant, url, events=3)
    assert len(requests) == 3
    assert results == [("succeeded", 200 if b" 200 " in raw else 204)] * 3


async def test_bytes_left_over_after_an_answer_are_never_read_as_the_next_one(
    db: Database, tenant: Tenant
) -> None:
    # The first answer declares 2 bytes but a stray "HTTP/1.1 200" follows on the same
    # connection; the second request must not take those bytes as its own success.
    failure = b"HTTP/1.1 500 Oops\r\ncontent-length: 2\r\n\r\nno"
    stray = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    answers = [failure + stray, failure]
    async with (
        raw_server(lambda n: answers[min(n, 1)]) as (url, requests),
        harness(db, webhook_batch_size=1, webhook_concurrency=1) as h,
    ):
        await h.endpoint(tenant, url)
        await h.emit(tenant, "touch.due")
        await h.dispatcher.run_once()
        h.clock.advance(timedelta(seconds=60))
        await h.dispatcher.run_once()
        [delivery] = await h.deliveries()
    assert delivery.status == "pending"
    assert delivery.last_status_code == 500
    assert delivery.attempt_count == 2
    assert len(requests) == 2


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nx-big: " + b"a" * 100_000 + b"\r\n\r\n", id="huge-head"),
        pytest.param(b"SMTP ready\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\nshort", id="truncated"),
        pytest.param(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\n\r\n", id="upgrade"),
    ],
)
async def test_broken_answers_are_failed_attempts_not_broken_rounds(
    db: Database, tenant: Tenant, raw: bytes
) -> None:
    async with (
        raw_server(always_raw(raw), close_after_reply=True) as (url, _requests),
        harness(db, webhook_timeout_seconds=2, webhook_lease_seconds=30) as h,
    ):
        await h.endpoint(tenant, url)
        await h.emit(tenant, "touch.due", "touch.due")
        assert await h.dispatcher.run_once() == 2  # the round completes
        deliveries = await h.deliveries()
        attempts = [await h.attempts(d.id) for d in deliveries]
    assert [d.status for d in deliveries] == ["pending", "pending"]
    assert [d.attempt_count for d in deliveries] == [1, 1]
    assert all(len(a) == 1 and a[0].status_code in (None, 101) for a in attempts)


async def test_deliveries_whose_turn_comes_late_in_the_lease_go_back_untried(
    db: Database, tenant: Tenant
) -> None:
    # lease 6.5 s - timeout 1 s - 5 s recording margin: sends may start for 0.5 s after the
    # claim; each takes 0.3 s one at a time, so the third is left for the next round.
    def slow(_: object) -> tuple[int, dict[str, str], bytes]:
        import time

        time.sleep(0.3)
        return 200, {}, b""

    with running(slow) as receiver:
        async with harness(
            db,
            webhook_batch_size=5,
            webhook_concurrency=1,
            webhook_timeout_seconds=1,
            webhook_lease_seconds=6.5,
        ) as h:
            await h.endpoint(tenant, receiver.url)
            await h.emit(tenant, *["touch.due"] * 5)
            await h.dispatcher.run_once()
            first = await h.deliveries()
            untried = [d for d in first if d.status == "pending"]
            assert all(d.attempt_count == 0 for d in untried)
            for d in untried:
                assert await h.attempts(d.id) == []
            await h.drain()
            final = await h.deliveries()
    assert 1 <= len(untried) <= 3
    assert [d.status for d in final] == ["succeeded"] * 5
    assert len(receiver.received) == 5  # nothing was sent twice


@dataclass
class _TlsRun:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]
    requests: list[bytes]
    port: str
    seen_sni: list[str | None]


async def _deliver_over_tls(db: Database, tenant: Tenant, certificate_for: str) -> _TlsRun:
    """One delivery to ``https://hooks.example.com`` pinned to a local TLS server whose
    certificate names ``certificate_for``, trusted through a test CA."""
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(certificate_for).configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    seen_sni: list[str | None] = []

    def remember_sni(sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        seen_sni.append(name)

    server_ctx.sni_callback = remember_sni  # type: ignore[assignment]

    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    async with raw_server(always_raw(ok), tls=server_ctx) as (url, requests):
        port = url.split(":")[2].split("/")[0]
        session = new_session(timeout_seconds=5, concurrency=2, ssl_context=client_ctx)
        try:
            url = f"https://hooks.example.com:{port}/hook"
            await register_endpoint(db, tenant, url, fixed("127.0.0.1"), allow_private=True)
            async with harness(db, resolver=fixed("127.0.0.1"), client=session) as h:
                await h.emit(tenant, "touch.due")
                await h.dispatcher.run_once()
                [delivery] = await h.deliveries()
                attempts = await h.attempts(delivery.id)
        finally:
            await session.close()
    return _TlsRun(delivery, attempts, list(requests), port, seen_sni)


async def test_https_goes_to_the_pinned_address_and_verifies_the_original_host(
    db: Database, tenant: Tenant
) -> None:
    run = await _deliver_over_tls(db, tenant, "hooks.example.com")
    assert run.delivery.status == "succeeded"
    assert run.seen_sni == ["hooks.example.com"]
    assert f"host: hooks.example.com:{run.port}".encode() in run.requests[0].lower()


async def test_a_certificate_for_another_host_is_refused(db: Database, tenant: Tenant) -> None:
    run = await _deliver_over_tls(db, tenant, "someone-else.example.com")
    [attempt] = run.attempts
    delivery, requests = run.delivery, run.requests
    assert delivery.status == "pending"
    assert requests == []
    assert attempt.status_code is None
    assert attempt.error is not None
    assert "certificate" in attempt.error.lower()
