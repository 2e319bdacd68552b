"""JSON logs: one object per line, each line of a request carrying its id."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest

from app.logging_setup import configure_logging
from app.request_context import reset_request_id, set_request_id
from app.services.platform import members as members_service
from tests.conftest import Tenant
from tests.log_fixtures import json_logs


async def test_request_log_lines_carry_the_request_id(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    with json_logs() as logs:
        response = await client.get(
            "/v1/members", headers={**tenant.headers, "X-Request-ID": "log-check-1"}
        )
    assert response.status_code == 200
    [access] = logs.named("request")
    assert access["request_id"] == "log-check-1"
    assert access["logger"] == "rapport.access"
    assert access["level"] == "INFO"
    assert access["route"] == "/v1/members"
    assert access["status"] == 200
    assert "time" in access


async def test_a_handlers_own_log_line_carries_the_generated_id(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines logged inside the handler (not only the access line) get the id too."""
    real = members_service.list_members

    async def logging_list(*args: Any, **kwargs: Any) -> Any:
        logging.getLogger("rapport.members").info("listing members")
        return await real(*args, **kwargs)

    monkeypatch.setattr(members_service, "list_members", logging_list)
    with json_logs() as logs:
        response = await client.get("/v1/members", headers=tenant.headers)
        logging.getLogger("rapport.test").info("after the request")
    generated = response.headers["x-request-id"]
    assert len(generated) == 32
    assert [r["request_id"] for r in logs.named("listing members")] == [generated]
    assert [r["request_id"] for r in logs.named("request")] == [generated]
    # Outside a request there is no id, and it is written as null rather than left out.
    assert [r["request_id"] for r in logs.named("after the request")] == [None]


async def test_concurrent_requests_log_their_own_ids(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    with json_logs() as logs:
        await asyncio.gather(
            *[
                client.get(path, headers={**tenant.headers, "X-Request-ID": f"id-{n}"})
                for n, path in enumerate(["/healthz", "/v1/members", "/v1/workspace"] * 3)
            ]
        )
    by_id = {r["request_id"]: r["path"] for r in logs.named("request")}
    assert by_id == {
        f"id-{n}": path for n, path in enumerate(["/healthz", "/v1/members", "/v1/workspace"] * 3)
    }


def test_an_explicit_request_id_wins_over_the_context() -> None:
    """A line logged on behalf of a request from elsewhere can name it through ``extra``."""
    token = set_request_id("ambient")
    try:
        with json_logs() as logs:
            logging.getLogger("rapport.test").info("explicit", extra={"request_id": "named"})
            logging.getLogger("rapport.test").info("ambient")
    finally:
        reset_request_id(token)
    assert logs.named("explicit")[0]["request_id"] == "named"
    assert logs.named("ambient")[0]["request_id"] == "ambient"


def test_configure_logging_writes_one_json_object_per_line_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("uvicorn.access").disabled)
    try:
        configure_logging("warning")
        token = set_request_id("cfg-1")
        try:
            logging.getLogger("rapport.test").info("dropped: below the level")
            logging.getLogger("rapport.test").warning("kept")
        finally:
            reset_request_id(token)
        assert logging.getLogger("uvicorn.access").disabled
    finally:
        root.handlers[:], level, logging.getLogger("uvicorn.access").disabled = saved
        root.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    assert [(line["message"], line["level"], line["request_id"]) for line in lines] == [
        ("kept", "WARNING", "cfg-1")
    ]


def test_ticks_and_terminal_colours_stay_out_of_the_logs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    aps = logging.getLogger("apscheduler")
    saved = (root.handlers[:], root.level, aps.level, logging.getLogger("uvicorn.access").disabled)
    try:
        configure_logging("info")
        aps.getChild("executors.default").info("Running job")
        aps.getChild("scheduler").warning("job missed")
        logging.getLogger("uvicorn.error").info(
            "Started server process [%d]", 7, extra={"color_message": "\x1b[36m%d\x1b[0m"}
        )
    finally:
        root.handlers[:], level, aps_level, logging.getLogger("uvicorn.access").disabled = saved
        root.setLevel(level)
        aps.setLevel(aps_level)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    assert [line["message"] for line in lines] == ["job missed", "Started server process [7]"]
    assert all("color_message" not in line for line in lines)
