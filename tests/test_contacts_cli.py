"""`rapport import contacts FILE --workspace ID`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
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
    assert "rows/s" in err
    table = err.splitlines()[-2:]
    assert table[0].split() == ["line", "column", "value", "message"]
    assert table[1].split()[:3] == ["3", "email", "nope"]
    assert "value is not a valid email address" in table[1]
    assert "Traceback" not in err
    assert "'loc'" not in err

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


def _workspace(url: str) -> str:
    async def tenant_id() -> str:
        database = Database.from_url(url, pool_size=1)
        try:
            return str((await make_tenant(database)).id)
        finally:
            await database.dispose()

    return asyncio.run(tenant_id())


def _run(url: str, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("RAPPORT_MIGRATE_ON_START", "false")
    get_settings.cache_clear()
    try:
        return main(["import", "contacts", *argv])
    finally:
        get_settings.cache_clear()


BROKEN = (
    "first_name,email,segment\n"
    "Ana,ana@x.example,client\n"
    "Bad,nope,client\n"
    "Short\n"
    "Wrong,w@x.example,friend\n"
)


def test_errors_out_writes_the_refused_rows_to_fix_and_import_again(
    committed_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace = _workspace(committed_url)
    file, errors = tmp_path / "contacts.csv", tmp_path / "refused.csv"
    file.write_text(BROKEN)
    code = _run(
        committed_url, monkeypatch, str(file), "--workspace", workspace, "--errors-out", str(errors)
    )
    assert code == 1
    assert "3 refused rows written to" in capsys.readouterr().err
    written = errors.read_text().splitlines()
    assert written[0] == "error,first_name,email,segment"
    assert written[1] == (
        "email: value is not a valid email address: An email address must have an @-sign."
        ",Bad,nope,client"
    )
    assert written[2] == '"this row has 1 cell, the header has 3",Short'
    assert written[3].endswith(",Wrong,w@x.example,friend")
    assert "segment: " in written[3]

    fixed = errors.read_text().replace(",Bad,nope,", ",Bad,bad@x.example,")
    fixed = fixed.replace(",Short", ",Short,short@x.example,prospect")
    errors.write_text(fixed.replace("friend", "client"))
    assert _run(committed_url, monkeypatch, str(errors), "--workspace", workspace) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["created"], result["errors"]) == (3, 0)  # the error column is ignored

    assert _run(committed_url, monkeypatch, str(file), "--workspace", workspace) == 1
    again = json.loads(capsys.readouterr().out)
    assert (again["created"], again["updated"], again["skipped"]) == (0, 0, 1)  # no duplicate


def test_a_dry_run_writes_nothing(
    committed_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace = _workspace(committed_url)
    file = tmp_path / "contacts.csv"
    file.write_text("first_name,email\nAna,ana@x.example\n")
    assert _run(committed_url, monkeypatch, str(file), "--workspace", workspace, "--dry-run") == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["created"], result["dry_run"]) == (1, True)
    assert _run(committed_url, monkeypatch, str(file), "--workspace", workspace) == 0
    assert json.loads(capsys.readouterr().out)["created"] == 1  # the dry run created none


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.csv"], "missing.csv: no such file"),
        (["contacts.csv", "--mode", "merge"], "--match-on/--mode: unknown policy 'merge'"),
        (["contacts.csv", "--match-on", "name"], "--match-on/--mode: unknown key 'name'"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    (tmp_path / "contacts.csv").write_text("first_name\nAna\n")
    monkeypatch.chdir(tmp_path)
    assert main(["import", "contacts", *argv, "--workspace", str(uuid.uuid4())]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith(f"rapport import contacts: {message}")
    assert "Traceback" not in err


def test_the_first_progress_line_comes_before_the_app_loads(tmp_path: Path) -> None:
    """The command prints before importing the app's modules (a second and more of CPU on
    a busy machine), and a database it cannot reach is one line, not a traceback."""
    file = tmp_path / "contacts.csv"
    file.write_text("first_name\nAna\n")
    probe = (
        "import sys\n"
        "class Err:\n"
        "    first = None\n"
        "    def write(self, text):\n"
        "        if Err.first is None:\n"
        "            Err.first = (text, 'sqlalchemy' in sys.modules)\n"
        "        sys.__stderr__.write(text)\n"
        "    def flush(self): pass\n"
        "sys.stderr = Err()\n"
        "from app.cli import main\n"
        f"argv = ['import', 'contacts', {str(file)!r}, '--workspace', {str(uuid.uuid4())!r}]\n"
        "code = main(argv)\n"
        "print(repr(Err.first)); print(code)\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://rapport:x@127.0.0.1:9/rapport",  # nothing listens
        "RAPPORT_MIGRATE_ON_START": "false",
        "RAPPORT_DB_WAIT_SECONDS": "0",  # every command waits for a database that is starting
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    first, code = done.stdout.splitlines()[-2:]
    assert "contacts.csv: 0.0 MB, starting" in first
    assert first.endswith(", False)")  # written before SQLAlchemy was imported
    assert code == "1"
    last = done.stderr.splitlines()[-1]
    assert last.startswith("rapport: error: the database at rapport@127.0.0.1:9/rapport"), last
    assert "did not answer" in last
    assert "Traceback" not in done.stderr
