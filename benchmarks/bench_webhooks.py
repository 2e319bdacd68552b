"""Webhook throughput: deliveries per second from one dispatcher to a local receiver.

Run on demand (not part of pytest):

    .venv/bin/python benchmarks/bench_webhooks.py --events 20000

It creates a scratch database on the embedded PostgreSQL (or on the server in
DATABASE_URL), queues ``--events`` events for one endpoint in one transaction, starts a
minimal HTTP/1.1 receiver in a separate process on 127.0.0.1 that answers 200 to
everything, then times ``WebhookDispatcher.run_once`` until the queue is empty. The
figure includes the whole bookkeeping: claim, signing, the POST, and recording every
attempt and delivery state. It fails loudly if any delivery did not succeed.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
import uuid

from bench_contacts_common import admin, server_url, with_database
from sqlalchemy import func, select

from app.clock import SystemClock
from app.config import Settings
from app.db import Database
from app.migrations import upgrade_async
from app.models.webhooks.tables import WebhookDelivery, WebhookEndpointCreate
from app.services.platform.events import record_events
from app.services.provisioning import provision_workspace
from app.services.webhooks.dispatcher import WebhookDispatcher
from app.services.webhooks.endpoints import UrlPolicy, create_endpoint

RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


class _Answer200(asyncio.Protocol):
    """Just enough HTTP/1.1 to answer keep-alive POSTs with a fixed 200."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            length = 0
            for line in self.buffer[:head_end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            self.transport.write(RESPONSE)


def _receiver(port_queue: multiprocessing.Queue[int]) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Answer200, "127.0.0.1", 0, backlog=1024)
        port_queue.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


async def bench(
    events: int, batch: int, concurrency: int, receiver_port: int
) -> tuple[float, float]:
    server = server_url()
    name = f"rapport_bench_{uuid.uuid4().hex[:8]}"
    await admin(server, f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    try:
        await upgrade_async(url)
        settings = Settings(
            database_url=url,
            environment="test",
            webhook_allow_private_networks=True,
            webhook_allow_http=True,
            webhook_batch_size=batch,
            webhook_concurrency=concurrency,
        )
        db = Database.from_url(url, pool_size=4)
        clock = SystemClock()
        async with db.transaction() as session:
            workspace, _, _ = await provision_workspace(session, "Bench", at=clock.now())
            await create_endpoint(
                session,
                workspace.id,
                WebhookEndpointCreate(url=f"http://127.0.0.1:{receiver_port}/hook"),
                policy=UrlPolicy(allow_private=True, allow_http=True),
                at=clock.now(),
            )
            items = [
                ("touch.due", {"n": i, "contact_id": str(uuid.uuid4())}) for i in range(events)
            ]
            await record_events(session, workspace.id, items, at=clock.now())
        dispatcher = WebhookDispatcher(db, settings, clock)
        started, cpu_started = time.perf_counter(), time.process_time()
        while await dispatcher.run_once():
            pass
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        await dispatcher.stop()
        async with db.transaction() as session:
            rows = await session.execute(
                select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
            )
            counts = {str(s): int(c) for s, c in rows}
        await db.dispose()
        if counts != {"succeeded": events}:
            raise SystemExit(f"not every delivery succeeded: {counts}")
        return elapsed, cpu
    finally:
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument(
        "--batch", type=int, default=Settings.model_fields["webhook_batch_size"].default
    )
    parser.add_argument(
        "--concurrency", type=int, default=Settings.model_fields["webhook_concurrency"].default
    )
    args = parser.parse_args()
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    receiver = multiprocessing.Process(target=_receiver, args=(ports,), daemon=True)
    receiver.start()
    try:
        port = ports.get(timeout=10)
        elapsed, cpu = asyncio.run(bench(args.events, args.batch, args.concurrency, port))
    finally:
        receiver.terminate()
    print(
        f"{args.events} deliveries in {elapsed:.2f} s = {args.events / elapsed:,.0f} deliveries/s "
        f"(batch {args.batch}, concurrency {args.concurrency}, one process, all succeeded); "
        f"dispatcher CPU {cpu:.2f} s = {cpu / args.events * 1000:.2f} ms per delivery"
    )


if __name__ == "__main__":
    main()
