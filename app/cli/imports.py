"""``rapport import contacts FILE --workspace ID``: the import of the API, from a shell.

The same job as the API's: the rows are staged, then imported a committed batch at a
time, so a long import shows its progress (to the bar here and to
``GET /v1/contacts/imports/{id}``) and a crash keeps the batches already done (the
scheduler's resume job finishes the rest).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from app.cli.database import migrated_url

if TYPE_CHECKING:
    from app.models.contacts import ContactImport
    from app.services.contacts import RawRow

if TYPE_CHECKING:
    from app.cli.database import Subparsers

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _bar(job: ContactImport, out: TextIO) -> None:
    total = max(job.total_rows, 1)
    done = job.processed_rows
    width = 30
    filled = width * done // total
    out.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{job.total_rows} rows "
        f"({job.created_count} created, {job.updated_count} updated, {job.error_count} errors)"
    )
    out.flush()


async def import_rows(
    url: str, workspace_id: uuid.UUID, rows: list[RawRow], fmt: str, out: TextIO
) -> ContactImport:
    from app.clock import SystemClock
    from app.db import Database
    from app.services import contacts
    from app.services.platform import get_workspace

    db = Database.from_url(url, pool_size=1)
    clock = SystemClock()
    ahead = contacts.Lookahead()  # validates the first batches while the file is staged
    try:
        async with db.transaction() as session:
            await get_workspace(session, workspace_id)
            job = await contacts.enqueue_import(
                session, workspace_id, fmt, rows, at=clock.now(), ahead=ahead
            )
        await contacts.run_import(
            db,
            clock,
            workspace_id,
            job.id,
            progress=lambda current: _bar(current, out),
            ahead=ahead,
        )
        async with db.transaction() as session:
            job = await contacts.get_import(session, workspace_id, job.id)
        _bar(job, out)
        out.write("\n")
        return job
    finally:
        ahead.close()
        await db.dispose()


def cmd_import_contacts(args: argparse.Namespace) -> int:
    from app.errors import NotFound
    from app.services.contacts import FileRefused, read_rows

    try:
        workspace_id = uuid.UUID(args.workspace)
    except ValueError:
        print(
            f"--workspace must be a workspace id (a UUID), not {args.workspace!r}", file=sys.stderr
        )
        return 2
    path = Path(args.file)
    fmt = args.format or FORMATS.get(path.suffix.lower())
    if fmt is None:
        print(f"cannot tell the format of {path.name}: pass --format csv|jsonl", file=sys.stderr)
        return 2
    try:
        rows = read_rows(path.read_bytes(), fmt)
    except FileRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    url = migrated_url()
    try:
        job = asyncio.run(import_rows(url, workspace_id, rows, fmt, sys.stderr))
    except NotFound:
        print(f"no workspace {workspace_id}", file=sys.stderr)
        return 2
    if job.status == "failed" or job.processed_rows < job.total_rows:
        print(f"import {job.id} did not finish: {job.detail}", file=sys.stderr)
        return 1
    for error in job.errors:
        print(f"line {error['line']}: {error['errors']}", file=sys.stderr)
    print(
        f'{{"import_id": "{job.id}", "created": {job.created_count}, '
        f'"updated": {job.updated_count}, "errors": {job.error_count}}}'
    )
    return 0 if job.error_count == 0 else 1


def add_parsers(sub: Subparsers) -> None:
    imports = sub.add_parser("import", help="bulk imports").add_subparsers(
        dest="what", required=True
    )
    contacts_parser = imports.add_parser(
        "contacts", help="import contacts from a CSV or JSONL file"
    )
    contacts_parser.add_argument("file")
    contacts_parser.add_argument("--workspace", required=True)
    contacts_parser.add_argument("--format", choices=["csv", "jsonl"], default=None)
    contacts_parser.set_defaults(func=cmd_import_contacts)
