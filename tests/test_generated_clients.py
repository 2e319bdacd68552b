"""Clients generated from the committed ``openapi/openapi.json``, unmodified, as integrators
and front-end teams would generate them: neither is committed, both are made here.

* Python: openapi-python-client (no warning allowed) drives a live server through a
  scenario: contacts and their pages, an enrolment, a referral moved through its stages,
  a score, the advocacy history, a problem parsed, an ``Idempotency-Key`` passed as the
  declared parameter.
* TypeScript: openapi-typescript's types used through openapi-fetch
  (``tests/clients/typescript/example.ts``), checked by ``tsc --noEmit``. Node and npm are
  Debian's packages (``make clients`` installs them); the npm packages are pinned by
  ``package-lock.json`` and installed with ``npm ci``.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.db import Database
from tests.conftest import ROOT, make_tenant
from tests.webhook_process import Service

DOCUMENT = ROOT / "openapi" / "openapi.json"
CLIENTS = ROOT / "tests" / "clients"
TYPESCRIPT = CLIENTS / "typescript"
BIN = Path(sys.executable).parent


def _run(args: list[str], cwd: Path, timeout: float = 600) -> str:
    result = subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(args)}:\n{output}"
    return output


@pytest.fixture
def python_client(tmp_path: Path) -> Iterator[Any]:
    """The package openapi-python-client generates, imported from a scratch directory."""
    output = _run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(DOCUMENT),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "rapport_client"),
            "--config",
            str(CLIENTS / "openapi-python-client.yaml"),
        ],
        cwd=tmp_path,
    )
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("rapport_client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.split(".")[0] == "rapport_client"]:
            del sys.modules[name]


@pytest.fixture
def live(committed_url: str, tmp_path: Path) -> Iterator[Service]:
    service = Service(committed_url, tmp_path, webhooks_enabled="false")
    try:
        service.wait_ready(timeout=120)
        yield service
    finally:
        service.stop()


def op(name: str) -> Any:
    """An operation's module: ``op("contacts.create_contact").asyncio_detailed(...)``."""
    return importlib.import_module(f"rapport_client.api.{name}")


async def test_the_generated_python_client_runs_an_integrators_scenario(
    python_client: Any, live: Service, committed_db: Database
) -> None:
    models = importlib.import_module("rapport_client.models")
    tenant = await make_tenant(committed_db)
    client = python_client.AuthenticatedClient(base_url=live.base_url, token=tenant.key)

    async with client as c:
        # Contacts, created with an Idempotency-Key: the replay answers the same contact.
        body = models.ContactCreate.from_dict(
            {"first_name": "Jordan", "last_name": "Lee", "segment": "client"}
        )
        create = op("contacts.create_contact").asyncio_detailed
        first = await create(client=c, body=body, idempotency_key="scenario-1")
        again = await create(client=c, body=body, idempotency_key="scenario-1")
        assert first.status_code == 201
        assert isinstance(first.parsed, models.ContactRead)
        assert again.parsed.id == first.parsed.id
        assert again.headers["Idempotent-Replayed"] == "true"
        jordan = first.parsed
        casey_body = models.ContactCreate.from_dict({"first_name": "Casey", "segment": "prospect"})
        casey = (await op("contacts.create_contact").asyncio(client=c, body=casey_body)).id

        # Pages: one contact a page, following next_cursor to the end.
        names, cursor = [], None
        while True:
            page = await op("contacts.list_contacts").asyncio(client=c, limit=1, cursor=cursor)
            names += [contact.display_name for contact in page.data]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert sorted(names) == ["Casey", "Jordan Lee"]

        # An enrolment in one of the built-in plans.
        plans = await op("touch_plans.list_touch_plans").asyncio(client=c)
        plan = next(p for p in plans.data if p.name == "8x8")
        enrol = models.EnrollmentCreate.from_dict(
            {"contact_id": str(casey), "plan_id": str(plan.id)}
        )
        enrolled = await op("enrollments.create_enrollment").asyncio_detailed(client=c, body=enrol)
        assert enrolled.status_code == 201, enrolled.content

        # A referral moved through its stages, each move guarded by the version read.
        referral_body = models.ReferralCreate.from_dict(
            {
                "source_contact_id": str(jordan.id),
                "referred_contact_id": str(casey),
                "expected_value": "12000",
            }
        )
        created = await op("referrals.create_referral").asyncio(client=c, body=referral_body)
        assert created.expected_value == "12000.00"
        version = created.version
        for stage in ("contacted", "meeting", "closed"):
            move = models.TransitionCreate.from_dict({"to_stage": stage})
            moved = await op("referrals.transition_referral").asyncio_detailed(
                created.id, client=c, body=move, if_match=f'"{version}"'
            )
            assert moved.status_code == 200, moved.content
            version = moved.parsed.version
        assert moved.parsed.stage == "closed"

        # The source's score and advocacy history.
        score = await op("scores.get_contact_score").asyncio(jordan.id, client=c)
        assert 0 <= score.score <= 100
        stage = models.AdvocacySet.from_dict({"stage": "advocate"})
        await op("advocacy.set_contact_advocacy").asyncio(jordan.id, client=c, body=stage)
        history = await op("advocacy.list_contact_advocacy_history").asyncio(jordan.id, client=c)
        assert [h.to_stage for h in history.data][-1] == "advocate"

        # A problem: parsed as one, its status an integer, its field named.
        missing = await op("contacts.get_contact").asyncio_detailed(uuid.UUID(int=0), client=c)
        assert missing.status_code == 404
        assert isinstance(missing.parsed, models.Problem)
        assert missing.parsed.status == 404
        bad = await op("contacts.create_contact").asyncio_detailed(
            client=c, body=models.ContactCreate.from_dict({"segment": "client"})
        )
        assert bad.status_code == 422
        assert bad.parsed.errors[0].loc == ["body", "first_name"]


def test_typescript_types_from_the_document_type_check_an_example() -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed: `make clients` installs Debian's packages")
    if not (TYPESCRIPT / "node_modules" / ".package-lock.json").exists():
        _run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=TYPESCRIPT)
    _run([npm, "run", "--silent", "generate"], cwd=TYPESCRIPT)
    _run([npm, "run", "--silent", "check"], cwd=TYPESCRIPT)
