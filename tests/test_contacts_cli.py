"""`rapport import contacts FILE --workspace ID`."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from app.cli import main
from app.config import get_settings
from app.db import Database
from app.services.contacts.importing.jobs import get_import
from tests.conftest import make_tenant


def test_import_contacts_command_reports_progress_and_rows(
    committed_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def tenant_id() -> str:
        database = Database.from_url(committed_url, pool_size=1)
        try:
            return str((await make_tenant(database)).id)
        finally:
            await database.dispose()

    workspace = asyncio.run(tenant_id())
    file = tmp_path / "contacts.csv"
    file.write_text("first_name,email,external_id.crm\nAna,ana@x.example,1\nBad,nope,2\nBo,,3\n")
    monkeypatch.setenv("DATABASE_URL", committed_url)
    monkeypatch.setenv("RAPPORT_MIGRATE_ON_START", "false")
    get_settings.cache_clear()
    try:
        code = main(["import", "contacts", str(file), "--workspace", workspace])
    finally:
        get_settings.cache_clear()
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert code == 1  # one row was rejected
    assert (result["created"], result["updated"], result["errors"]) == (2, 0, 1)
    assert "3/3 rows" in err
    assert "line 3:" in err

    async def stored_job() -> tuple[str, int]:
        database = Database.from_url(committed_url, pool_size=1)
        try:
            async with database.transaction() as session:
                job = await get_import(
                    session, uuid.UUID(workspace), uuid.UUID(result["import_id"])
                )
                return job.status, job.processed_rows
        finally:
            await database.dispose()

    assert asyncio.run(stored_job()) == ("completed", 3)


def test_import_contacts_command_needs_a_known_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "contacts.xlsx"
    file.write_bytes(b"x")
    assert main(["import", "contacts", str(file), "--workspace", str(uuid.uuid4())]) == 2
    assert "--format" in capsys.readouterr().err


def test_import_contacts_command_refuses_a_workspace_that_is_not_an_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "contacts.csv"
    file.write_text("first_name\nAna\n")
    assert main(["import", "contacts", str(file), "--workspace", "acme"]) == 2
    err = capsys.readouterr().err
    assert "--workspace must be a workspace id" in err
    assert "Traceback" not in err


def test_import_contacts_command_refuses_an_unknown_workspace(
    committed_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    file = tmp_path / "contacts.csv"
    file.write_text("first_name\nAna\n")
    monkeypatch.setenv("DATABASE_URL", committed_url)
    monkeypatch.setenv("RAPPORT_MIGRATE_ON_START", "false")
    get_settings.cache_clear()
    missing = uuid.uuid4()
    try:
        code = main(["import", "contacts", str(file), "--workspace", str(missing)])
    finally:
        get_settings.cache_clear()
    assert code == 2
    assert f"no workspace {missing}" in capsys.readouterr().err
