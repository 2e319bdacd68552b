"""``rapport serve``: take the port, wait for the database, migrate (unless disabled),
optionally seed the demo, serve the API in one process or ``--workers N``.

The port is bound first, by this process, so a port another process holds is one line
at once, not a banner, a bind error and a scheduler's ``CancelledError`` traceback after
the app had started. The bound socket is handed to uvicorn (and, with ``--workers``, to
each worker process, as ``uvicorn.run`` itself does). SIGTERM or Ctrl-C drain: the
listener closes, requests in flight are answered, the lifespan stops the scheduler and
the dispatcher, and the process exits 0 (uvicorn re-raised the signal at the end, so a
clean shutdown read as "killed by SIGTERM", status -15).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import logging
import signal
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import heap
from app.cli.database import migrate, ready_url
from app.cli.failures import CliError
from app.cli.tenants import create_workspace
from app.config import get_settings

if TYPE_CHECKING:
    import uvicorn

    from app.cli.database import Subparsers

log = logging.getLogger("rapport.cli")
STARTUP_FAILURE = 3  # uvicorn's own code for an app that did not start
GRACEFUL_SHUTDOWN_SECONDS = 30  # requests still in flight after this are cut off


def _ensure_demo(url: str, data_dir: Path) -> dict[str, str]:
    """Create the demo workspace once; its key is kept in the local data dir to reprint."""
    marker = data_dir / "demo.json"
    if marker.is_file():
        saved: dict[str, str] = json.loads(marker.read_text())
        return saved
    from app.demo import seed_demo

    workspace_id, token = asyncio.run(create_workspace(url, "Demo Realty"))
    asyncio.run(seed_demo(url, workspace_id))
    data = {"workspace_id": str(workspace_id), "api_key": token}
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(data))
    marker.chmod(0o600)
    return data


async def _agent_session(url: str, workspace_id: uuid.UUID) -> tuple[str, str, datetime]:
    from app.clock import SystemClock
    from app.db import Database
    from app.demo import demo_agent_session

    db = Database.from_url(url, pool_size=1)
    try:
        return await demo_agent_session(db, workspace_id, get_settings(), at=SystemClock().now())
    finally:
        await db.dispose()


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or one ``CliError`` line if the address is taken."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise CliError(f"cannot listen on {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CliError(
                f"port {port} on {host} is in use by another process: stop it, or choose "
                "another port (--port, RAPPORT_PORT or PORT)"
            ) from None
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)  # for --workers: each worker process serves on it
    return sock


def cmd_serve(args: argparse.Namespace) -> int:
    settings = get_settings()
    host = args.host or settings.host
    port = args.port or settings.port
    sock = bind(host, port)
    try:
        url = ready_url(settings)
        if settings.migrate_on_start:
            migrate(url)
        if args.demo:
            demo = _ensure_demo(url, settings.data_dir)
            workspace_id = uuid.UUID(demo["workspace_id"])
            name, token, expires_at = asyncio.run(_agent_session(url, workspace_id))
            base = f"http://{host}:{port}"
            print(
                f"\nRapport demo workspace {demo['workspace_id']}\n"
                f"  API key (admin): {demo['api_key']}\n"
                f"  Docs:            {base}/docs\n"
                f"  Try:             curl -H 'Authorization: Bearer {demo['api_key']}' "
                f"{base}/v1/workspace\n"
                f"  Member session for {name} (agent), until {expires_at:%Y-%m-%d %H:%M} UTC:\n"
                f"    {token}\n"
                f"  Try:             curl -H 'Authorization: Bearer <that token>' {base}/v1/me\n"
                f"  Their day:       curl -H 'Authorization: Bearer <that token>' "
                f"{base}/v1/me/agenda\n",
                flush=True,
            )
        log.info("starting on http://%s:%d with %d worker(s)", host, port, args.workers)
        return _serve(sock, args.workers)
    finally:
        sock.close()


def _serve(sock: socket.socket, workers: int) -> int:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "app.cli.serve:production_app",
        factory=True,
        workers=workers,
        loop="uvloop",  # what "auto" picks when uvicorn[standard] is installed; now required
        http="httptools",
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()  # its workers exit when it does
        return 0
    server = _quiet_exit(uvicorn.Server)(config)
    server.run(sockets=[sock])
    return 0 if server.started else STARTUP_FAILURE


def _quiet_exit(server: type[uvicorn.Server]) -> type[uvicorn.Server]:
    """uvicorn's server, without raising the stop signal again after a clean shutdown
    (a subclass made here, so that commands other than ``serve`` never import uvicorn)."""

    class Server(server):  # type: ignore[valid-type,misc]
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            handled = (signal.SIGINT, signal.SIGTERM)
            original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server


def production_app() -> Any:
    """uvicorn's factory: the app from the environment, with the collector tuned for a
    server (``app.heap``: the startup heap frozen, young collections less often)."""
    from app.main import create_production_app

    app = create_production_app()
    heap.settle()
    return app


def add_parsers(sub: Subparsers) -> None:
    serve = sub.add_parser(
        "serve", help="wait for the database, migrate (unless disabled), serve the API"
    )
    serve.add_argument(
        "--host", default=None, help="address to listen on (RAPPORT_HOST; 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, default=None, help="port to listen on (RAPPORT_PORT or PORT; 8000)"
    )
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes sharing the port (default 1)"
    )
    serve.add_argument("--demo", action="store_true", help="create and print a demo workspace")
    serve.set_defaults(func=cmd_serve)
