"""``rapport serve`` and friends as an operator meets them: real processes, real ports, a
real PostgreSQL that is late, refuses a password, or is not there.

Each failure to start is one line on stderr and an exit code (2: fix the settings; 1:
the database never came), never a traceback; SIGTERM drains and exits 0.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.cli.failures import UNAVAILABLE, USAGE, CliError
from app.cli.waiting import wait_for_database
from tests.private_postgres import PrivatePostgres
from tests.webhook_process import Service, free_port

BIN = Path(sys.executable).parent
PASSWORD = "s3cret-for-tests"


def _env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RAPPORT_") or k == "RAPPORT_TEST_RUN"
    }
    env.pop("DATABASE_URL", None)
    env.pop("PORT", None)
    env.update(
        {
            "RAPPORT_ENVIRONMENT": "test",
            "RAPPORT_SCHEDULER_ENABLED": "false",
            "RAPPORT_WEBHOOKS_ENABLED": "false",
            **overrides,
        }
    )
    return env


def _rapport(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "rapport"), *args],
        env=_env(**env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The error line of a command that failed, which must be all it said about it."""
    errors = [line for line in done.stderr.splitlines() if line.startswith("rapport: error:")]
    assert len(errors) == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    others = [line for line in done.stderr.splitlines() if line not in errors]
    assert all(json.loads(line)["level"] in ("INFO", "WARNING") for line in others), others
    return errors[0]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres(password=PASSWORD)
    try:
        yield server
    finally:
        server.remove()


def test_a_wrong_password_is_one_line_and_exit_2(postgres: PrivatePostgres) -> None:
    wrong = postgres.url("postgres", password="not-the-password")
    for command in (["migrate"], ["serve", "--port", str(free_port())]):
        done = _rapport(*command, DATABASE_URL=wrong)
        assert done.returncode == USAGE, done.stderr
        line = _one_line_error(done)
        assert "refused the credentials" in line
        assert "not-the-password" not in done.stderr  # the password is never printed


def test_a_database_that_does_not_exist_is_one_line_and_exit_2(
    postgres: PrivatePostgres,
) -> None:
    done = _rapport("migrate", DATABASE_URL=postgres.url("no_such_database"))
    assert done.returncode == USAGE
    assert "does not exist" in _one_line_error(done)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"RAPPORT_ENVIRONMENT": "production"}, "DATABASE_URL is required"),
        ({"PORT": "70000"}, "RAPPORT_PORT"),
        ({"RAPPORT_DB_STATEMENT_TIMEOUT_MS": "soon"}, "RAPPORT_DB_STATEMENT_TIMEOUT_MS"),
        ({"RAPPORT_LOG_LEVEL": "LOUD"}, "RAPPORT_LOG_LEVEL"),
    ],
)
def test_bad_settings_are_one_line_and_exit_2(settings: dict[str, str], named: str) -> None:
    done = _rapport("serve", **settings)
    assert done.returncode == USAGE, done.stderr
    assert named in _one_line_error(done)


def test_a_busy_port_is_one_line_before_anything_starts(postgres: PrivatePostgres) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _rapport("serve", "--port", str(port), DATABASE_URL=postgres.url())
    assert done.returncode == USAGE
    assert f"port {port} on 127.0.0.1 is in use" in _one_line_error(done)
    assert "using the database" not in done.stderr  # it stopped before touching anything


def test_a_database_that_never_comes_is_exit_1_after_the_wait() -> None:
    done = _rapport(
        "migrate",
        DATABASE_URL=f"postgresql://u:p@127.0.0.1:{free_port()}/x",
        RAPPORT_DB_WAIT_SECONDS="2",
    )
    assert done.returncode == UNAVAILABLE
    assert "did not answer within 2 s" in _one_line_error(done)
    waits = [line for line in done.stderr.splitlines() if "waiting for the database" in line]
    assert len(waits) >= 2  # one line per try
    assert "p@" not in done.stderr


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_serve_waits_for_a_late_database_then_serves(tmp_path: Path) -> None:
    """The database comes up a few tries after the service: it was a crash at once."""
    late = PrivatePostgres(password=PASSWORD, start=False)
    log = tmp_path / "serve.log"
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "rapport"), "serve", "--port", str(port)],
            env=_env(DATABASE_URL=late.url(), RAPPORT_DB_WAIT_SECONDS="60"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def waited_twice() -> bool:
            return sum("waiting for the database" in line for line in _lines(log)) >= 2

        _wait_for(waited_twice, 60, "two waiting lines")
        late.start()
        _wait_for(lambda: _healthy(port), 90, "the service to answer")
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        late.remove()
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert "Traceback" not in text
    tries = [json.loads(line) for line in text.splitlines() if "waiting for the database" in line]
    assert [t["try"] for t in tries] == list(range(1, len(tries) + 1))  # one line per try
    assert all("connection refused" in t["message"] for t in tries)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_sigterm_answers_the_request_in_flight_then_exits_0(
    committed_url: str, tmp_path: Path
) -> None:
    """A request whose body is still arriving when SIGTERM comes is answered; the
    listener is closed meanwhile; the process exits 0 (it was -15)."""
    service = Service(committed_url, tmp_path, webhooks_enabled="false")
    service.wait_ready()
    halfway, signalled = threading.Event(), threading.Event()

    def body() -> Iterator[bytes]:
        yield b'{"name": "Drained '
        halfway.set()
        signalled.wait(10)
        time.sleep(0.5)  # the server is shutting down by now
        yield b'workspace"}'

    result: dict[str, httpx.Response] = {}

    def send() -> None:
        result["answer"] = httpx.post(
            f"{service.base_url}/healthz-not-a-route",  # any route: the body is read first
            content=body(),
            headers={"content-type": "application/json"},
            timeout=30,
        )

    sender = threading.Thread(target=send)
    sender.start()
    assert halfway.wait(10)
    service.process.send_signal(signal.SIGTERM)
    signalled.set()
    sender.join(30)
    code = service.process.wait(timeout=60)
    service.stop()
    log = service.log_path.read_text()
    assert result["answer"].status_code in (404, 405), result["answer"].text  # answered
    assert code == 0, log[-3000:]
    assert "Application shutdown complete" in log
    assert "Traceback" not in log


def test_workers_share_the_port_and_all_exit_on_sigterm(committed_url: str, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "workers.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "rapport"), "serve", "--port", str(port), "--workers", "2"],
            env=_env(DATABASE_URL=committed_url, RAPPORT_MIGRATE_ON_START="false"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: len(_children(proc.pid)) >= 2, 60, "two worker processes")
        _wait_for(lambda: _healthy(port), 60, "the workers to answer")
        answers = {
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code for _ in range(20)
        }
        assert answers == {200}
        workers = _children(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, log.read_text()[-3000:]
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)
    assert "Traceback" not in log.read_text()


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and "spawn_main" in (stat.parent / "cmdline").read_text(
            errors="replace"
        ):  # uvicorn's workers are started by multiprocessing's spawn
            found.append(int(stat.parent.name))
    return found


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class _Impostor:
    """Another program on the port, answering ``/healthz`` with 200 and even the same
    body: what made the old check report a container healthy under host networking."""

    def __init__(self, root: Path) -> None:
        (root / "healthz").write_text('{"status": "ok"}')
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1"],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(self._up, 30, "http.server")

    def _up(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def test_the_healthcheck_believes_only_rapport(tmp_path: Path) -> None:
    impostor = _Impostor(tmp_path)
    try:
        done = _rapport("healthcheck", PORT=str(impostor.port))
    finally:
        impostor.stop()
    assert done.returncode == 1
    assert "not as Rapport does" in done.stderr
    nobody = _rapport("healthcheck", PORT=str(free_port()))
    assert nobody.returncode == 1


def test_wait_for_database_backs_off_then_returns() -> None:
    now = [0.0]
    pauses: list[float] = []
    failures = [ConnectionRefusedError(111, "refused")] * 5

    def attempt(_url: str) -> None:
        if failures:
            raise failures.pop()

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    wait_for_database("postgresql://x@h/db", 60, attempt=attempt, clock=lambda: now[0], sleep=sleep)
    assert pauses == [0.5, 1.0, 2.0, 4.0, 5.0]


def test_wait_for_database_gives_up_after_the_wait_and_stops_at_once_on_a_refusal() -> None:
    import asyncpg  # type: ignore[import-untyped]

    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    def refused(_url: str) -> None:
        raise ConnectionRefusedError(111, "refused")

    with pytest.raises(CliError) as late:
        wait_for_database(
            "postgresql://x@h/db", 10, attempt=refused, clock=lambda: now[0], sleep=sleep
        )
    assert late.value.code == UNAVAILABLE
    assert now[0] == pytest.approx(10)

    calls: list[str] = []

    def wrong_password(url: str) -> None:
        calls.append(url)
        raise asyncpg.InvalidPasswordError("password authentication failed")

    with pytest.raises(CliError) as refusal:
        wait_for_database("postgresql://x:pw@h/db", 60, attempt=wrong_password, sleep=sleep)
    assert refusal.value.code == USAGE
    assert len(calls) == 1
    assert "pw" not in str(refusal.value)
