"""JSON text in and out, fast where it can be and exact where it must be, never deeper
than a bound.

orjson is several times faster than ``json``, but it holds integers in 64 bits: past that
it refuses to write them and reads them back as floats. A client's custom fields may hold
any JSON number, so what orjson cannot do exactly goes to ``json``. Everything that turns
stored JSON into text (binds, events, webhook payloads, exports) or back goes through here.

``json`` parses recursively, so a document nested a thousand levels deep (a few KB of
``[``) raised ``RecursionError`` from deep inside the parser. Nesting is counted first,
on the bytes, wherever ``json`` would parse: request bodies may nest ``MAX_BODY_DEPTH``
levels (``read_body``), anything else ``MAX_PARSE_DEPTH`` (orjson's own limit is 1024).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_NUMBER = re.compile(r"\d{19}")
MAX_BODY_DEPTH = 32
MAX_PARSE_DEPTH = 256
# A string (skipped whole, escapes included) or one bracket.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


class TooDeep(ValueError):
    """JSON nested deeper than allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels")
        self.limit = limit


def to_json(value: Any) -> str:
    """Compact JSON text of ``value`` (orjson's form; ``json`` for integers past 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def check_depth(document: str, limit: int) -> None:
    """Raise ``TooDeep`` if ``document`` opens more than ``limit`` arrays and objects
    inside each other. Brackets inside strings do not count. Most documents have fewer
    brackets in all than the limit, which two ``count`` calls show without a scan."""
    if document.count("[") + document.count("{") <= limit:
        return
    depth = 0
    for token in _TOKENS.finditer(document):
        bracket = token.group()
        if bracket in ("[", "{"):
            depth += 1
            if depth > limit:
                raise TooDeep(limit)
        elif bracket in ("]", "}"):
            depth -= 1


def from_json(document: str) -> Any:
    """The value of JSON text: orjson unless a long number might lose digits to it.

    Raises ``ValueError`` for text that is not JSON (``TooDeep`` for text nested past
    ``MAX_PARSE_DEPTH`` that orjson did not take)."""
    if _LONG_NUMBER.search(document) is None:
        try:
            return orjson.loads(document)
        except orjson.JSONDecodeError:
            pass
    check_depth(document, MAX_PARSE_DEPTH)
    return json.loads(document)


def read_body(raw: bytes) -> Any:
    """A request body's JSON value; ``TooDeep`` past ``MAX_BODY_DEPTH`` levels, another
    ``ValueError`` for bytes that are not UTF-8 JSON."""
    document = raw.decode()
    check_depth(document, MAX_BODY_DEPTH)
    return from_json(document)


def depth(value: Any) -> int:
    """How many arrays and objects a decoded value nests (a scalar: 0), without
    recursion."""
    deepest = 0
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        current, level = todo.pop()
        if isinstance(current, dict):
            children: Any = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        deepest = max(deepest, level)
        todo.extend((child, level + 1) for child in children)
    return deepest
