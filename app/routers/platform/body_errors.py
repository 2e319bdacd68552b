"""Name the field of a JSON body that Python's parser refused for a number too long.

``json.loads`` refuses integers of more than 4300 digits (``sys.int_info``: their
conversion is quadratic, a denial of service), and FastAPI reports any parse failure as
"there was an error parsing the body": a client sending a 5000-digit amount learned that
its JSON was invalid, not which field was wrong. When that happens the body is parsed
again with such numbers kept as text, and the answer is a 422 naming each of them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_MAX_DIGITS = sys.get_int_max_str_digits() or 4300


class _TooLong(str):
    """An integer's digits, kept unconverted."""


def _int(digits: str) -> int | _TooLong:
    return _TooLong(digits) if len(digits.lstrip("-")) > _MAX_DIGITS else int(digits)


def _too_long(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, _TooLong):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _too_long(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _too_long(item, (*path, index))


def locating_parse_errors(handler: Handler) -> Handler:
    async def located(request: Request) -> Response:
        try:
            return await handler(request)
        except HTTPException as exc:
            if exc.status_code != 400:
                raise
            try:
                document = json.loads(await request.body(), parse_int=_int)
            except ValueError:
                raise exc from None  # not JSON at all
            errors = [
                {
                    "type": "int_too_long",
                    "loc": ("body", *path),
                    "msg": f"a whole number of at most {_MAX_DIGITS} digits is expected",
                    "input": None,
                }
                for path in _too_long(document)
            ]
            if not errors:
                raise
            raise RequestValidationError(errors) from None

    return located
