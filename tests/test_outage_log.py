"""What counts as a database outage, and how it is told: 503 with ``Retry-After``, one
warning when it starts, one line when it ends, however many requests meet it.

The black-box version (a real server stopped and paused under load) is
``tests/test_outages.py``; these pin the rules one at a time.
"""

from __future__ import annotations

import logging

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from sqlalchemy import exc as sa_exc

from app.clock import FrozenClock
from app.db import Database
from app.main import create_app
from app.outages import (
    SETTLE_SECONDS,
    DatabaseUnavailable,
    OutageLog,
    outages,
    unavailable_cause,
)
from tests.conftest import T0, make_settings
from tests.log_fixtures import json_logs
from tests.webhook_process import free_port


class Ticks:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "rapport.database"]


def test_an_outage_is_one_warning_and_one_recovery_line(caplog: pytest.LogCaptureFixture) -> None:
    clock = Ticks()
    log = OutageLog(clock=clock)
    with caplog.at_level(logging.INFO, "rapport.database"):
        for _ in range(50):
            log.failed("statement timeout", where="/v1/contacts", began=clock.now - 2)
            clock.now += 0.1
        clock.now += SETTLE_SECONDS
        log.recovered()
        log.recovered()
    assert _lines(caplog) == [
        "database unavailable (statement timeout): answering 503 until it is back",
        "database available again after 6.0 s (50 failures)",
    ]


def test_a_success_amid_failures_does_not_end_the_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stopping server ends its connections one by one: some statements still work."""
    clock = Ticks()
    log = OutageLog(clock=clock)
    with caplog.at_level(logging.INFO, "rapport.database"):
        log.failed("connection lost", where="/v1/contacts")
        clock.now += SETTLE_SECONDS / 2
        log.recovered()
        log.failed("connection lost", where="/v1/contacts")
    assert len(_lines(caplog)) == 1
    assert log.active


def test_work_begun_before_the_recovery_failing_after_it_is_the_same_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Ticks()
    log = OutageLog(clock=clock)
    with caplog.at_level(logging.INFO, "rapport.database"):
        log.failed("no answer in time", where="readiness")
        clock.now += 5
        began = clock.now - 0.5  # a readiness check waiting when the database came back
        log.recovered()
        clock.now += 0.01
        log.failed("no answer in time", where="readiness", began=began)
    assert len(_lines(caplog)) == 2  # the warning and the recovery, nothing after
    assert not log.active
    assert log.stragglers == 1


def test_a_failure_of_work_begun_after_the_recovery_is_a_new_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Ticks()
    log = OutageLog(clock=clock)
    with caplog.at_level(logging.INFO, "rapport.database"):
        log.failed("no answer in time", where="readiness")
        clock.now += 5
        log.recovered()
        clock.now += 1
        log.failed("ConnectionRefusedError", where="/v1/contacts", began=clock.now - 0.1)
    warnings = [line for line in _lines(caplog) if line.startswith("database unavailable")]
    assert len(warnings) == 2


def test_failures_an_hour_apart_are_two_outages(caplog: pytest.LogCaptureFixture) -> None:
    clock = Ticks()
    log = OutageLog(clock=clock)
    with caplog.at_level(logging.INFO, "rapport.database"):
        log.failed("statement timeout", where="/v1/contacts")
        clock.now += 3600
        log.failed("statement timeout", where="/v1/contacts")
    assert len(_lines(caplog)) == 2


def _wrapped(orig: BaseException) -> sa_exc.DBAPIError:
    return sa_exc.DBAPIError("SELECT 1", None, orig)


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (_wrapped(ConnectionRefusedError(111, "refused")), "ConnectionRefusedError"),
        (DatabaseUnavailable("no answer in time"), "unavailable"),
        (_wrapped(asyncpg.QueryCanceledError("canceling statement")), "statement timeout"),
        (_wrapped(asyncpg.AdminShutdownError("terminating")), "AdminShutdownError"),
        (_wrapped(asyncpg.TooManyConnectionsError("too many")), "TooManyConnectionsError"),
        (sa_exc.TimeoutError("QueuePool limit"), "no free connection in the pool in time"),
        (_wrapped(asyncpg.InterfaceError("connection is closed")), "InterfaceError"),
    ],
)
def test_unavailable_database_errors_are_recognised(error: BaseException, cause: str) -> None:
    assert unavailable_cause(error) == cause


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "a webhook receiver refused"),  # not the database's
        _wrapped(asyncpg.UniqueViolationError("duplicate key")),
        _wrapped(asyncpg.InterfaceError("cannot perform operation: another is in progress")),
        ValueError("a bug"),
    ],
)
def test_other_errors_are_not_outages(error: BaseException) -> None:
    assert unavailable_cause(error) is None


async def test_a_refused_database_answers_503_with_retry_after_and_logs_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing listens on the port: every request is a 503 problem, with no traceback."""
    monkeypatch.setattr(outages, "_since", None)  # the process's log: no outage on yet
    monkeypatch.setattr(outages, "_ended", float("-inf"))
    url = f"postgresql://rapport:secret@127.0.0.1:{free_port()}/rapport"
    database = Database.from_url(url, pool_size=1, timeout_seconds=2)
    app = create_app(make_settings(), database=database, clock=FrozenClock(T0))
    transport = httpx.ASGITransport(app=app)
    try:
        with json_logs() as logs:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                answers = [
                    await client.post(
                        "/v1/contacts",
                        json={"first_name": "A", "last_name": "B"},
                        headers={"Authorization": f"Bearer rk_live_{'0' * 32}_{'x' * 43}"},
                    )
                    for _ in range(5)
                ]
    finally:
        await database.dispose()
    for answer in answers:
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "5"
        assert answer.headers["content-type"] == "application/problem+json"
        body = answer.json()
        assert body["type"].endswith("/service-unavailable")
        assert "127.0.0.1" not in body["detail"]
        assert "secret" not in body["detail"]
    errors = [r for r in logs.records if r["level"] in ("ERROR", "CRITICAL")]
    assert errors == []
    assert "Traceback" not in logs.text
    warning = "database unavailable (ConnectionRefusedError): answering 503 until it is back"
    assert len(logs.named(warning)) == 1
