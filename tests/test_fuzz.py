"""Schema-driven testing of the whole API with Schemathesis, as a reviewer runs it.

The Schemathesis command line runs every operation of the served OpenAPI document
through all four phases: the document's examples, coverage (boundary and just-invalid
values of every parameter and field), fuzzing (valid and invalid data) and stateful
(sequences: what a POST returns fed into the GETs, PATCHes and DELETEs that take it),
with a real key against the production app on a real database, over HTTP.

Every check applies but ``positive_data_acceptance``: it expects a 2xx for any request
the JSON Schema admits, and the API keeps rules no JSON Schema can state (a period of at
most ten years, a known IANA zone or phone region, a cursor it issued, a yearly date of
a real day, a referrer for a received referral). Invalid data must still be refused
(``negative_data_rejection``), and every answer must be documented, of its declared
type and shape, and never a server error.

The size fits the gate (``MAX_EXAMPLES`` per operation and phase, about 10,000 requests);
``--seed`` keeps it repeatable. One worker: CPython 3.11's ``ast.parse``, which
Hypothesis calls to describe strategies, is not thread-safe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.db import Database
from tests.conftest import ROOT, make_tenant
from tests.webhook_process import Service

MAX_EXAMPLES = 10
SEED = 20261207
BIN = Path(sys.executable).parent


@pytest.fixture
async def key(committed_url: str) -> str:
    database = Database.from_url(committed_url, pool_size=1)
    try:
        return (await make_tenant(database)).key
    finally:
        await database.dispose()


@pytest.fixture
def served(committed_url: str, tmp_path: Path, key: str) -> Iterator[Service]:
    service = Service(
        committed_url,
        tmp_path,
        module="tests.fuzz_server",
        webhooks_enabled="false",
        # The fuzzer may set the workspace's own limit to 1 a minute (PATCH /v1/workspace),
        # after which every operation answered 429 and went untested (`tests/test_rate_limits.py`
        # holds the limiter to its contract).
        rate_limits_enabled="false",
        log_level="WARNING",
    )
    try:
        service.wait_ready(timeout=60)
        yield service
    finally:
        service.stop()


@pytest.mark.timeout(1800)  # ~10,000 requests: 3-4 min alone, much more on a busy machine
def test_every_operation_keeps_the_contract_in_every_phase(
    served: Service, key: str, tmp_path: Path
) -> None:
    report = tmp_path / "schemathesis.json"
    command = [
        str(BIN / "schemathesis"),
        "run",
        f"{served.base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {key}",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--mode",
        "all",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"}
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=1700, env=env, cwd=tmp_path
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-20_000:]
    result = json.loads(report.read_text())
    operations = sum(
        method in OPERATION_METHODS for path in _spec()["paths"].values() for method in path
    )
    assert result["operations"]["tested"] == result["operations"]["total"] == operations
    assert result["complete"]
    assert result["stop_reason"] == "completed"
    assert {name: p["status"] for name, p in result["phases"].items()} == dict.fromkeys(
        ("examples", "coverage", "fuzzing", "stateful"), "success"
    )
    assert result["failures"] == []
    assert result["errors"] == []
    assert result["test_cases"]["generated"] > 50 * operations  # the size this gate runs
    log = served.log_path.read_text()
    assert "Traceback" not in log, log[-5000:]


OPERATION_METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    return spec
