"""The `rapport` command, and the container's entrypoint run on the host."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.clock import FrozenClock
from app.db import Database
from app.main import create_app
from tests.conftest import T0, make_settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(args: list[str], url: str) -> dict[str, object]:
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run(
        [str(BIN / "rapport"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


async def test_workspaces_and_keys_create(committed_url: str) -> None:
    created = _run(["workspaces", "create", "Shell Realty"], committed_url)
    assert set(created) == {"workspace_id", "api_key"}
    key = _run(
        ["keys", "create", "--workspace", str(created["workspace_id"]), "--scopes", "read"],
        committed_url,
    )
    database = Database.from_url(committed_url)
    try:
        app = create_app(make_settings(), database=database, clock=FrozenClock(T0))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            reader = {"Authorization": f"Bearer {key['api_key']}"}
            workspace = await client.get("/v1/workspace", headers=reader)
            assert workspace.json()["name"] == "Shell Realty"
            denied = await client.patch("/v1/workspace", json={"name": "x"}, headers=reader)
            assert denied.status_code == 403
    finally:
        await database.dispose()


def test_openapi_command_prints_the_spec() -> None:
    done = subprocess.run(
        [str(BIN / "rapport"), "openapi"], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout)["info"]["title"] == "Rapport API"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _dockerfile_command() -> list[str]:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    entry = next(json.loads(x.split(" ", 1)[1]) for x in lines if x.startswith("ENTRYPOINT"))
    cmd = next(json.loads(x.split(" ", 1)[1]) for x in lines if x.startswith("CMD"))
    return [*entry, *cmd]


def test_container_entrypoint_serves_against_a_real_database(
    committed_url: str, tmp_path: Path
) -> None:
    """The image's ENTRYPOINT + CMD, run on the host with the image's production settings,
    from a working directory holding what the image's does: the migrations, nothing else."""
    shutil.copytree(ROOT / "alembic", tmp_path / "alembic")
    shutil.copy(ROOT / "alembic.ini", tmp_path)
    command = _dockerfile_command()
    assert command[:2] == ["rapport", "serve"]
    port = _free_port()
    args = [a.replace("0.0.0.0", "127.0.0.1").replace("8000", str(port)) for a in command]
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DATABASE_URL": committed_url,
        "RAPPORT_ENVIRONMENT": "production",
        "RAPPORT_SESSION_SIGNING_KEY": "a production deployment's own 32+ byte secret",
        "RAPPORT_SCHEDULER_ENABLED": "false",
        "RAPPORT_WEBHOOKS_ENABLED": "false",
    }
    proc = subprocess.Popen(
        shlex.split(shlex.join(args)),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert ready is not None
        assert ready.status_code == 200, ready.text
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        assert health.json()["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0].decode()
    # uvicorn re-raises SIGTERM after a graceful shutdown, so -15 is a clean exit too.
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    first = json.loads(output.splitlines()[0])
    assert {"time", "level", "logger", "message"} <= first.keys()
