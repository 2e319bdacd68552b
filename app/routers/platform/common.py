"""Small helpers shared by routers: building routers, ETags, pages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, Response

from app.models.platform.common import Page
from app.problems import COMMON_ERRORS
from app.routers.platform.route import TransactionalRoute

T = TypeVar("T")
R = TypeVar("R")


def api_router(tag: str) -> APIRouter:
    """Every /v1 router: transactional routes, one tag, the common error responses."""
    return APIRouter(
        prefix="/v1", tags=[tag], route_class=TransactionalRoute, responses=COMMON_ERRORS
    )


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


def json_response(document: str) -> Response:
    """A JSON document PostgreSQL wrote (app.services.platform.json_sql), passed through as is."""
    return Response(document.encode(), media_type="application/json")


def page_response(documents: Sequence[str], cursor: str | None) -> Response:
    """A ``Page`` of JSON documents PostgreSQL wrote, joined without parsing them."""
    data = ",".join(documents)
    return json_response(f'{{"data":[{data}],"next_cursor":{orjson.dumps(cursor).decode()}}}')


def page_of(items: Sequence[T], cursor: str | None, shape: Callable[[T], R]) -> Page[R]:
    return Page[R](data=[shape(i) for i in items], next_cursor=cursor)


def as_is(value: Any) -> Any:
    return value
