"""Run the real service (``rapport serve``) as a subprocess for crash and replica tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Service:
    """One ``rapport serve`` process with webhooks on, logging to a file."""

    def __init__(
        self,
        database_url: str,
        log_dir: Path,
        *,
        module: str | None = None,
        **settings: str,
    ) -> None:
        """``rapport serve``, or ``python -m module PORT`` (a test's own launcher)."""
        self.port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "RAPPORT_ENVIRONMENT": "test",
            "RAPPORT_SCHEDULER_ENABLED": "false",
            "RAPPORT_WEBHOOKS_ENABLED": "true",
            "RAPPORT_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
            "RAPPORT_WEBHOOK_ALLOW_HTTP": "true",
            "RAPPORT_WEBHOOK_POLL_SECONDS": "0.1",
            "RAPPORT_MIGRATE_ON_START": "false",
            **{f"RAPPORT_{k.upper()}": v for k, v in settings.items()},
        }
        self.log_path = log_dir / f"service-{self.port}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        command = (
            [str(ROOT / ".venv/bin/rapport"), "serve", "--port", str(self.port)]
            if module is None
            else [str(ROOT / ".venv/bin/python"), "-m", module, str(self.port)]
        )
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.base_url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 120.0) -> None:
        # A bounded wait for a real process, not a speed check: on a 2-core machine loaded
        # by other suites (load 10-12) a start took 24 s, and two at once timed out at 30.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"service exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"service not ready: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        """``kill -9``: no shutdown hooks, leases left behind as a crash would leave them."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
