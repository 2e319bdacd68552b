"""The ``Origin`` type of the API's schemas (a workspace's ``cors_origins``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from app.origins import check_origin, parse_origins

MAX_ORIGINS = 20

Origin = Annotated[
    str,
    Field(max_length=200, examples=["https://app.example.com"]),
    AfterValidator(check_origin),
]


__all__ = ["MAX_ORIGINS", "Origin", "check_origin", "parse_origins"]
