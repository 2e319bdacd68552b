"""JSON text in and out, fast where it can be and exact where it must be.

orjson is several times faster than ``json``, but it holds integers in 64 bits: past that
it refuses to write them and reads them back as floats. A client's custom fields may hold
any JSON number, so what orjson cannot do exactly goes to ``json``. Everything that turns
stored JSON into text (binds, events, webhook payloads, exports) or back goes through here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_NUMBER = re.compile(r"\d{19}")


def to_json(value: Any) -> str:
    """Compact JSON text of ``value`` (orjson's form; ``json`` for integers past 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def from_json(document: str) -> Any:
    """The value of JSON text: orjson unless a long number might lose digits to it."""
    if _LONG_NUMBER.search(document) is None:
        try:
            return orjson.loads(document)
        except orjson.JSONDecodeError:
            pass
    return json.loads(document)
