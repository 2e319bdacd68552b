"""JSON logs, one object per line, each carrying the request id when there is one."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

from app.request_context import current_request_id


class RequestIdFilter(logging.Filter):
    """Stamp each record with the current request's id (``None`` outside a request).

    An id passed explicitly through ``extra`` wins: a record built away from the request's
    context (another task, another thread) can still name the request it belongs to.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


def json_handler(stream: TextIO) -> logging.Handler:
    """The handler production logs go through, writing one JSON object per line."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    root.handlers[:] = [json_handler(sys.stderr)]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
