"""``rapport healthcheck``: the container's HEALTHCHECK, asking the port the server uses.

The image's old check asked ``127.0.0.1:8000`` whatever port the server listened on: a
server on 18080 went unhealthy, and under host networking another process on 8000 made
it healthy. This asks ``RAPPORT_PORT``/``PORT`` (the settings ``rapport serve`` reads,
``--port`` for a server started otherwise), on loopback when the server listens on every
address, and believes only Rapport's answer: ``{"status": "ok"}`` with a request id.
Exit 0 healthy, 1 not. ``--ready`` asks ``/readyz`` (the database answers, the schema is
current) instead of ``/healthz`` (the process serves).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

from app.config import get_settings

if TYPE_CHECKING:
    from app.cli.database import Subparsers

_EVERYWHERE = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104


def probe_url(host: str, port: int, path: str) -> str:
    host = _EVERYWHERE.get(host, host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}{path}"


def cmd_healthcheck(args: argparse.Namespace) -> int:
    settings = get_settings()
    url = probe_url(
        args.host or settings.host,
        args.port or settings.port,
        "/readyz" if args.ready else "/healthz",
    )
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:  # noqa: S310
            body = json.loads(response.read())
            rapport = response.headers.get("x-request-id") is not None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"unhealthy: {url}: {reason}", file=sys.stderr)
        return 1
    if not rapport or not isinstance(body, dict) or body.get("status") != "ok":
        print(f"unhealthy: {url} answered, but not as Rapport does: {body!r:.200}", file=sys.stderr)
        return 1
    return 0


def add_parsers(sub: Subparsers) -> None:
    check = sub.add_parser(
        "healthcheck", help="ask the running server whether it is healthy (exit 0) or not (1)"
    )
    check.add_argument("--ready", action="store_true", help="ask /readyz instead of /healthz")
    check.add_argument("--host", default=None, help="default: RAPPORT_HOST, loopback if 0.0.0.0")
    check.add_argument("--port", type=int, default=None, help="default: RAPPORT_PORT or PORT")
    check.add_argument("--timeout", type=float, default=3.0)
    check.set_defaults(func=cmd_healthcheck)
