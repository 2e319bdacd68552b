"""Bulk import and export of contacts."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar

from fastapi import BackgroundTasks, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from app.deps import ClockDep, ReadAuth, SessionDep, WriteAuth, app_state
from app.errors import DomainError, ValidationFailed
from app.models.contacts.imports import ImportRead
from app.models.platform import Problem
from app.problems import MEDIA_TYPE, NOT_FOUND
from app.routers.platform import ACCEPTED_AT, api_router
from app.services.contacts.export import ExportFormat, export_contacts
from app.services.contacts.importing import jobs as contacts_import
from app.services.contacts.importing.options import (
    DEFAULT_MATCH_ON,
    DEFAULT_MODE,
    ImportOptions,
    parse_match_on,
    parse_mode,
)
from app.services.contacts.importing.parse import FileRefused, open_file
from app.services.contacts.importing.stage import Lookahead

router = api_router("contacts")

MEDIA_TYPES = {
    "text/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
}
_TEXT: dict[str, Any] = {"schema": {"type": "string"}}
_CSV: dict[str, Any] = {"schema": {"type": "string", "minLength": 1}}  # a header at least
IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "CSV with a header row (first_name, last_name, email, phone, tags, "
        "segment, address.city, consent.email, external_id.<source>, ...; unknown columns "
        "become custom fields), or JSON Lines of contact objects, in UTF-8. Up to 100,000 "
        "rows. Every column is described in docs/IMPORT.md.",
        "content": {
            "text/csv": _CSV,
            "application/x-ndjson": _TEXT,
            # What a browser's file input sends (a form with the file in ``file``).
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The CSV or JSON Lines file (by its type or name: "
                            "`.csv`, `.jsonl`, `.ndjson`).",
                        },
                    },
                }
            },
        },
    }
}
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class UnsupportedMediaType(DomainError):
    status: ClassVar[int] = 415
    title: ClassVar[str] = "Unsupported media type"
    slug: ClassVar[str] = "unsupported-media-type"


def _options(match_on: str, mode: str, dry_run: bool) -> ImportOptions:
    try:
        keys = parse_match_on(match_on)
    except ValueError as exc:
        raise ValidationFailed.on(["query", "match_on"], str(exc)) from None
    try:
        policy = parse_mode(mode)
    except ValueError as exc:
        raise ValidationFailed.on(["query", "mode"], str(exc)) from None
    return ImportOptions(keys, policy, dry_run)


@router.post(
    "/contacts/imports",
    operation_id="importContacts",
    summary="Import contacts",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=IMPORT_BODY,
    responses={
        **ACCEPTED_AT,
        415: {
            "model": Problem,
            "description": "Send text/csv or application/x-ndjson.",
            "content": {MEDIA_TYPE: {}},
        },
    },
)
async def import_contacts(
    request: Request,
    auth: WriteAuth,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
    background: BackgroundTasks,
    match_on: Annotated[
        str,
        Query(
            description="The keys that find an existing contact, comma-separated, tried in "
            "this order: `external_id`, `email`, `phone` (empty: every row creates one). A "
            "row matching two contacts by the first key that finds any is refused.",
            max_length=64,
        ),
    ] = DEFAULT_MATCH_ON,
    mode: Annotated[
        str,
        Query(
            description="What a row that matched a contact changes: `fill_empty` (only "
            "what the contact does not have yet), `overwrite` (what the row gives) or `skip` "
            "(nothing), then per-column policies: `fill_empty,segment:overwrite,tags:skip`.",
            max_length=2000,
        ),
    ] = DEFAULT_MODE,
    dry_run: Annotated[
        bool,
        Query(
            description="Validate and match the whole file and report what would be "
            "created, updated, skipped and refused, writing no contact."
        ),
    ] = False,
) -> ImportRead:
    """Accept a file and return its import job (``queued``); the rows are imported after.

    Poll ``GET /v1/contacts/imports/{id}`` (the ``Location``) for progress and the
    rejected rows. A file that cannot be read at all is refused here (415, 422). Bad rows
    are reported with their line, column, value and a message, and skipped; rows that
    share a key (e-mail, phone, external id) with another row of the file are all
    refused; a row matching an existing contact updates it as ``mode`` says.
    """
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        fmt, content = await _uploaded(request)
    else:
        fmt, content = MEDIA_TYPES.get(media), await request.body()
    if fmt is None:
        raise UnsupportedMediaType(
            f"content type {media or 'none'!r}: send text/csv or application/x-ndjson"
        )
    options = _options(match_on, mode, dry_run)
    ahead = Lookahead()  # validates the first batches while the rest is staged
    try:
        file = open_file(content, fmt)
        job = await contacts_import.enqueue_import(
            session,
            auth.workspace_id,
            fmt,
            file.rows,
            at=clock.now(),
            ahead=ahead,
            columns=file.columns,
            options=options,
        )
    except FileRefused as exc:
        raise ValidationFailed.on(["body"], str(exc)) from None
    # Runs once the response is sent, so after this request's transaction committed.
    db = app_state(request).db
    run = contacts_import.run_import
    background.add_task(run, db, clock, auth.workspace_id, job.id, ahead=ahead)
    response.headers["Location"] = f"/v1/contacts/imports/{job.id}"
    return ImportRead.model_validate(job)


async def _uploaded(request: Request) -> tuple[str | None, bytes]:
    """The file of a form (``file``) and its format, by its content type or its name."""
    limit = app_state(request).settings.max_import_bytes
    async with request.form(max_files=1, max_fields=10, max_part_size=limit) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed.on(["body", "file"], "attach the file as the form field 'file'")
        media = (upload.content_type or "").split(";")[0].strip().lower()
        suffix = "." + (upload.filename or "").rpartition(".")[2].lower()
        return MEDIA_TYPES.get(media) or _SUFFIXES.get(suffix), await upload.read()


@router.get(
    "/contacts/imports/{import_id}",
    operation_id="getContactImport",
    summary="Get an import's progress",
    responses=NOT_FOUND,
)
async def get_import(import_id: uuid.UUID, auth: ReadAuth, session: SessionDep) -> ImportRead:
    """Progress (rows done of total) and the rejected rows with their line numbers."""
    job = await contacts_import.get_import(session, auth.workspace_id, import_id)
    return ImportRead.model_validate(job)


@router.get(
    "/contacts/export",
    operation_id="exportContacts",
    summary="Export contacts",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Every contact, streamed.",
            "content": {"text/csv": _TEXT, "application/x-ndjson": _TEXT},
        }
    },
)
async def export(
    request: Request,
    auth: ReadAuth,
    format: Annotated[ExportFormat, Query(description="`csv` or `jsonl`.")] = "csv",
    raw: Annotated[
        bool,
        Query(
            description="CSV: write cells as stored. By default a cell beginning with `=`, "
            "`+`, `-`, `@`, a tab or a carriage return gets a `'` before it, so a "
            "spreadsheet shows it as text instead of running it as a formula."
        ),
    ] = False,
) -> StreamingResponse:
    """Every contact with every field; CSV cells holding lists or objects are JSON, and
    cells a spreadsheet would run as formulas are escaped (`raw=true` to keep them as
    stored; the import reads both). JSON Lines are never escaped."""
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    name = f"contacts.{format}"
    return StreamingResponse(
        export_contacts(app_state(request).db, auth.workspace_id, format, raw=raw),
        media_type=f"{media}; charset=utf-8" if format == "csv" else media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
