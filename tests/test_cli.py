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


def _runtime_stage() -> list[str]:
    """The Dockerfile's last stage, one logical line per instruction."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    last_from = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    return [line for line in lines[last_from:] if line and not line.startswith("#")]


def _instruction(stage: list[str], name: str) -> str:
    return next(line.split(" ", 1)[1] for line in stage if line.startswith(f"{name} "))


def _image_env(stage: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in stage:
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def test_container_entrypoint_serves_on_the_platform_port_and_reports_healthy(
    committed_url: str, tmp_path: Path
) -> None:
    """The image's ENTRYPOINT + CMD with the image's own settings (ENV), on the host, from
    a working directory holding what the image's does (the migrations, nothing else),
    on the port a platform gives in PORT (not 8000); the image's HEALTHCHECK command
    says healthy; SIGTERM exits 0."""
    shutil.copytree(ROOT / "alembic", tmp_path / "alembic")
    shutil.copy(ROOT / "alembic.ini", tmp_path)
    stage = _runtime_stage()
    command = [
        *json.loads(_instruction(stage, "ENTRYPOINT")),
        *json.loads(_instruction(stage, "CMD")),
    ]
    health = json.loads(_instruction(stage, "HEALTHCHECK").split("CMD", 1)[1])
    image_env = _image_env(stage)
    assert command == ["rapport", "serve"]
    assert health == ["rapport", "healthcheck"]
    assert image_env["RAPPORT_HOST"] == "0.0.0.0"
    assert "RAPPORT_PORT" not in image_env  # it would win over the platform's PORT
    port = _free_port()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith("RAPPORT_") or k == "RAPPORT_TEST_RUN"
        },
        **{k: v for k, v in image_env.items() if k != "PATH"},
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "RAPPORT_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": committed_url,
        "RAPPORT_SESSION_SIGNING_KEY": "a production deployment's own 32+ byte secret",
        "PORT": str(port),
        "RAPPORT_SCHEDULER_ENABLED": "false",
        "RAPPORT_WEBHOOKS_ENABLED": "false",
    }
    probe = [str(BIN / health[0]), *health[1:]]
    assert subprocess.run(probe, env=env, capture_output=True, timeout=60).returncode == 1
    proc = subprocess.Popen(
        [str(BIN / command[0]), *command[1:]],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        healthy = None
        while time.monotonic() < deadline and proc.poll() is None:
            healthy = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=60)
            if healthy.returncode == 0:
                break
            time.sleep(0.5)
        assert healthy is not None
        assert healthy.returncode == 0, healthy.stderr
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, output[-3000:]
    assert "Application shutdown complete" in output
    assert "Traceback" not in output
    first = json.loads(output.splitlines()[0])
    assert {"time", "level", "logger", "message"} <= first.keys()


def test_the_cli_uses_the_checkouts_data_dir_from_any_folder(tmp_path: Path) -> None:
    """Never the current folder: run from elsewhere, it used to start a second embedded
    database there, whose keys worked nowhere else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.pop("DATABASE_URL", None)
    seen = []
    for folder in (ROOT, tmp_path):
        done = subprocess.run(
            [str(BIN / "rapport"), "db", "status"],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode in (0, 3), done.stderr  # running or not, never started here
        seen.append(json.loads(done.stdout)["data_dir"])
    assert seen == [str(ROOT / ".rapport")] * 2
    assert not (tmp_path / ".rapport").exists()


def _ends(pid: int, *, within: float) -> bool:
    """Whether process ``pid`` is gone (or a zombie: exited, waiting for its parent, which
    for a daemonised postmaster is whatever PID 1 is) within ``within`` seconds:
    ``pg_ctl stop -w`` returns once the pid file is removed, a moment before the exit."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


def test_make_run_serves_on_the_port_given_and_the_cli_elsewhere_sees_its_workspace(
    tmp_path: Path,
) -> None:
    """``make run PORT=...`` serves there with the embedded PostgreSQL and prints the demo
    workspace; ``rapport db status`` run from another folder reports the same workspace
    and the server still running after ``make run`` ended; ``rapport db stop`` stops
    it. (Its own data dir: the developer's ``.rapport`` is left alone.)"""
    data_dir = tmp_path / "data"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith("RAPPORT_") or k == "RAPPORT_TEST_RUN"
        },
        "RAPPORT_DATA_DIR": str(data_dir),
        "RAPPORT_SCHEDULER_ENABLED": "false",
        "RAPPORT_WEBHOOKS_ENABLED": "false",
    }
    env.pop("DATABASE_URL", None)
    port = _free_port()
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make and rapport are stopped together, as by Ctrl-C
        )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and make.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        printed = log.read_text()
        workspace = printed.split("Rapport demo workspace ", 1)[1].split()[0]
        key = printed.split("API key (admin): ", 1)[1].split()[0]
        answer = httpx.get(
            f"http://127.0.0.1:{port}/v1/workspace",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert answer.json()["id"] == workspace
        session = printed.split("Member session for ", 1)[1].split("UTC:", 1)[1].split()[0]
        day = httpx.get(
            f"http://127.0.0.1:{port}/v1/me/agenda",
            headers={"Authorization": f"Bearer {session}"},
            timeout=10,
        )
        assert day.status_code == 200, day.text
        assert day.json()["items"], "the demo agent's agenda opens empty"
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=60)
    status = subprocess.run(
        [str(BIN / "rapport"), "db", "status"],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert status.returncode == 0, status.stderr  # the embedded server keeps running
    reported = json.loads(status.stdout)
    assert reported["demo_workspace_id"] == workspace
    assert reported["data_dir"] == str(data_dir)
    stop = subprocess.run(
        [str(BIN / "rapport"), "db", "stop"],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert stop.returncode == 0, stop.stderr
    after = subprocess.run(
        [str(BIN / "rapport"), "db", "status"], env=env, capture_output=True, timeout=60
    )
    assert after.returncode == 3  # stopped
    assert _ends(int(reported["pid"]), within=10)
