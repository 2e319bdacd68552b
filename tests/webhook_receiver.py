"""A real HTTP receiver for webhook tests, on 127.0.0.1 only, verifying every signature.

It runs ``http.server.ThreadingHTTPServer`` in a thread, so the dispatcher under test
talks to it over real sockets. ``respond`` decides each answer; every request is kept
with whether its signature verified under each configured secret.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified_with: list[str] = field(default_factory=list)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


Answer = tuple[int, dict[str, str], bytes]
Responder = Callable[[Received], Answer]


def ok(_: Received) -> Answer:
    return 200, {}, b"ok"


class Receiver:
    def __init__(self, respond: Responder = ok) -> None:
        self.respond = respond
        self.secrets: list[str] = []
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                got = Received(self.path, headers, body)
                for secret in list(receiver.secrets):
                    try:
                        Webhook(secret).verify(body, headers)
                        got.verified_with.append(secret)
                    except WebhookVerificationError:
                        pass
                with receiver.lock:
                    receiver.received.append(got)
                status, extra, answer = receiver.respond(got)
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                return

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024  # the default backlog of 5 refuses bursts
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                return  # a sender killed mid-request is what the crash test is about

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def ids(self) -> list[str]:
        with self.lock:
            return [r.webhook_id for r in self.received]

    def wait_for_distinct(self, count: int, timeout: float) -> set[str]:
        """Poll (not sleep-and-hope) until ``count`` distinct ids arrived or time is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = set(self.ids())
            if len(seen) >= count:
                return seen
            time.sleep(0.05)
        return set(self.ids())


@contextmanager
def running(respond: Responder = ok) -> Iterator[Receiver]:
    receiver = Receiver(respond)
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
