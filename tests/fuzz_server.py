"""The production app served for Schemathesis (``tests/test_fuzz.py``), with host names
resolved offline.

Fuzzing registers webhook endpoints at generated URLs, and the SSRF guard resolves
their hosts: here every name but ``localhost`` fails to resolve, as on a machine without
DNS, so the run sends nothing past 127.0.0.1. The event loop is asyncio's own (uvloop's
resolver cannot be replaced); everything else is ``rapport serve``'s app.

Run as ``python -m tests.fuzz_server PORT`` with the service's settings in the environment.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys
from typing import Any

import uvicorn

_resolve = asyncio.BaseEventLoop.getaddrinfo


async def _offline(self: asyncio.BaseEventLoop, host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        ipaddress.ip_address(name)
    except ValueError:
        if name != "localhost":
            raise socket.gaierror(socket.EAI_NONAME, "offline: no name resolution") from None
    return await _resolve(self, host, *args, **kwargs)


def main(port: int) -> None:
    asyncio.BaseEventLoop.getaddrinfo = _offline  # type: ignore[method-assign]
    uvicorn.run(
        "app.cli.serve:production_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        loop="asyncio",
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
