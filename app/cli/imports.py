"""``rapport import contacts FILE --workspace ID``: the import of the API, from a shell.

The same job as the API's: the rows are staged, then imported a committed batch at a
time, so a long import shows its progress (to the bar here and to
``GET /v1/contacts/imports/{id}``) and a crash keeps the batches already done (the
scheduler's resume job finishes the rest).

A person runs it, so it answers like a tool: the first progress line comes before the
app's modules load (a second and more on a busy machine: they are imported only once
the arguments are known to be good), then the rows read, then the bar with the rate and
the time left. Mistakes are one line without a traceback; refused rows are a table, and
``--errors-out`` writes them to a file to fix and import again. Exit status: 0 when
every row went in, 1 when rows were refused (or the import did not finish), 2 for a
mistake in the command (arguments, a file that cannot be read, an unknown workspace).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from app.cli.database import Subparsers
    from app.models.contacts import ContactImport
    from app.services.contacts import ImportFile, ImportOptions, RawRow

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
TABLE_ROWS = 50  # refused rows printed; --errors-out writes every one the job kept
_WIDTH = 30


class Usage(Exception):
    """A mistake in the command: one line, exit status 2."""


class Progress:
    """One line on the terminal, rewritten: rows read while the file is staged, then
    rows imported with the rate and the time left."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.started = time.monotonic()
        self.open = False  # a line is being rewritten

    def say(self, text: str) -> None:
        self.out.write(f"\r{text}\x1b[K")
        self.out.flush()
        self.open = True

    def end(self) -> None:
        """End the line being rewritten, so that what follows starts on its own."""
        if self.open:
            self.out.write("\n")
            self.open = False

    def reading(self, rows: Iterable[RawRow]) -> Iterator[RawRow]:
        for count, row in enumerate(rows, start=1):
            if count % 1000 == 0:
                self.say(f"[{'.' * _WIDTH}] reading: {count:,} rows")
            yield row

    def job(self, job: ContactImport) -> None:
        total = max(job.total_rows, 1)
        done = job.processed_rows
        filled = _WIDTH * done // total
        elapsed = time.monotonic() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = f", {(job.total_rows - done) / rate:,.0f} s left" if rate and done < total else ""
        self.say(
            f"[{'#' * filled}{'.' * (_WIDTH - filled)}] {done:,}/{job.total_rows:,} rows, "
            f"{rate:,.0f} rows/s{left} ({job.created_count} created, {job.updated_count} "
            f"updated, {job.skipped_count} skipped, {job.error_count} errors)"
        )


def _cell(value: Any, width: int) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def error_table(errors: list[dict[str, Any]], error_count: int) -> list[str]:
    """The refused rows as a table: line, column, value, message (a row per problem)."""
    lines = [f"{'line':>7}  {'column':<20}  {'value':<{_WIDTH}}  message"]
    for error in errors[:TABLE_ROWS]:
        for problem in error.get("errors") or [error]:
            column = _cell(problem.get("column") or "(row)", 20)
            value = _cell(problem.get("value"), _WIDTH)
            message = problem.get("message") or problem.get("msg", "")
            lines.append(f"{error['line']:>7}  {column:<20}  {value:<{_WIDTH}}  {message}")
    if error_count > min(len(errors), TABLE_ROWS):
        lines.append(f"... {error_count:,} rows refused in all; --errors-out FILE writes them")
    return lines


async def import_file(
    url: str,
    workspace_id: uuid.UUID,
    file: ImportFile,
    fmt: str,
    options: ImportOptions,
    progress: Progress,
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
                session,
                workspace_id,
                fmt,
                progress.reading(file.rows),
                at=clock.now(),
                ahead=ahead,
                columns=file.columns,
                options=options,
            )
        progress.started = time.monotonic()
        progress.job(job)
        await contacts.run_import(
            db, clock, workspace_id, job.id, progress=progress.job, ahead=ahead
        )
        async with db.transaction() as session:
            job = await contacts.get_import(session, workspace_id, job.id)
        progress.job(job)
        progress.end()
        return job
    finally:
        ahead.close()
        await db.dispose()


def _arguments(args: argparse.Namespace) -> tuple[uuid.UUID, Path, str]:
    try:
        workspace_id = uuid.UUID(args.workspace)
    except ValueError:
        raise Usage(
            f"--workspace must be a workspace id (a UUID), not {args.workspace!r}"
        ) from None
    path = Path(args.file)
    fmt = args.format or FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise Usage(f"cannot tell the format of {path.name}: pass --format csv|jsonl")
    if not path.is_file():
        raise Usage(f"{path}: no such file")
    return workspace_id, path, fmt


def cmd_import_contacts(args: argparse.Namespace) -> int:
    progress = Progress(sys.stderr)
    try:
        return _import_contacts(args, progress)
    except Usage as exc:
        progress.end()
        print(f"rapport import contacts: {exc}", file=sys.stderr)
        return 2


def _import_contacts(args: argparse.Namespace, progress: Progress) -> int:
    err = progress.out
    workspace_id, path, fmt = _arguments(args)
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise Usage(f"{path}: {exc.strerror or exc}") from None
    progress.say(f"[{'.' * _WIDTH}] {path.name}: {len(body) / 1e6:,.1f} MB, starting")

    from sqlalchemy.exc import DBAPIError

    from app.errors import NotFound
    from app.services import contacts

    try:
        options = contacts.ImportOptions(
            contacts.parse_match_on(args.match_on), contacts.parse_mode(args.mode), args.dry_run
        )
    except ValueError as exc:
        raise Usage(f"--match-on/--mode: {exc}") from None
    try:
        file = contacts.open_file(body, fmt)
    except contacts.FileRefused as exc:
        progress.end()
        print(f"{path.name} refused: {exc}", file=err)
        return 1
    from app.cli.database import migrated_url  # after the first progress line: it loads the app

    try:
        url = migrated_url()
        job = asyncio.run(import_file(url, workspace_id, file, fmt, options, progress))
    except NotFound:
        raise Usage(f"no workspace {workspace_id}") from None
    except contacts.FileRefused as exc:  # found while reading: too many rows
        progress.end()
        print(f"{path.name} refused: {exc}", file=err)
        return 1
    except (OSError, DBAPIError) as exc:  # the database cannot be reached
        progress.end()
        print(f"cannot reach the database: {str(exc).splitlines()[0]}", file=err)
        return 1
    return _report(job, args, body, fmt, err)


def _report(
    job: ContactImport, args: argparse.Namespace, body: bytes, fmt: str, err: TextIO
) -> int:
    from app.services import contacts

    if job.errors:
        print("\n".join(error_table(job.errors, job.error_count)), file=err)
    if args.errors_out and job.errors:
        Path(args.errors_out).write_text(contacts.failed_rows(body, fmt, job.errors), "utf-8")
        kept = f"the first {len(job.errors):,} of " if job.error_count > len(job.errors) else ""
        print(f"{kept}{job.error_count:,} refused rows written to {args.errors_out}", file=err)
    print(
        f'{{"import_id": "{job.id}", "created": {job.created_count}, '
        f'"updated": {job.updated_count}, "skipped": {job.skipped_count}, '
        f'"errors": {job.error_count}, "dry_run": {"true" if job.dry_run else "false"}}}'
    )
    if job.status == "failed" or job.processed_rows < job.total_rows:
        print(f"import {job.id} did not finish: {job.detail}", file=err)
        return 1
    return 0 if job.error_count == 0 else 1


def add_parsers(sub: Subparsers) -> None:
    imports = sub.add_parser("import", help="bulk imports").add_subparsers(
        dest="what", required=True
    )
    parser = imports.add_parser("contacts", help="import contacts from a CSV or JSONL file")
    parser.add_argument("file")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--format", choices=["csv", "jsonl"], default=None)
    parser.add_argument(
        "--match-on",
        default="external_id,email,phone",
        help="keys that find an existing contact, in order (default: %(default)s)",
    )
    parser.add_argument(
        "--mode",
        default="fill_empty",
        help="what a matched row changes: fill_empty, overwrite or skip, then column:policy "
        "entries (default: %(default)s)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="validate and match only; write nothing"
    )
    parser.add_argument(
        "--errors-out", metavar="FILE", help="write the refused rows there, with an error column"
    )
    parser.set_defaults(func=cmd_import_contacts)
