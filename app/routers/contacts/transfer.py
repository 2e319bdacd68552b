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
from app.services.contacts.importing.parse import FileRefused, iter_rows
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
        "become custom fields), or JSON Lines of contact objects. Up to 100,000 rows.",
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
) -> ImportRead:
    """Accept a file and return its import job (``queued``); the rows are imported after.

    Poll ``GET /v1/contacts/imports/{id}`` (the ``Location``) for progress and the
    rejected rows. A file that cannot be read at all is refused here (415, 422). Bad rows
    are reported with their line number and skipped; rows with an external id that is
    already known update that contact.
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
    ahead = Lookahead()  # validates the first batches while the rest is staged
    try:
        rows = iter_rows(content, fmt)
        job = await contacts_import.enqueue_import(
            session, auth.workspace_id, fmt, rows, at=clock.now(), ahead=ahead
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
) -> StreamingResponse:
    """Every contact with every field; CSV cells holding lists or objects are JSON."""
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    name = f"contacts.{format}"
    return StreamingResponse(
        export_contacts(app_state(request).db, auth.workspace_id, format),
        media_type=f"{media}; charset=utf-8" if format == "csv" else media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
