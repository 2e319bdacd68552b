"""Capture what the production JSON log handler writes, one parsed object per line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from app.logging_setup import json_handler


class JsonLines:
    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    @property
    def text(self) -> str:
        return self._stream.getvalue()

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def named(self, message: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("message") == message]


@contextmanager
def json_logs(level: int = logging.INFO) -> Iterator[JsonLines]:
    """Attach the app's JSON handler to the root logger for the block, then restore it.

    ``configure_logging`` would replace pytest's own handlers, so the test adds one.
    """
    stream = io.StringIO()
    handler = json_handler(stream)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield JsonLines(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
