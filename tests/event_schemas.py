"""Events held to the committed OpenAPI document: each type's ``data`` schema, as an
integrator's validator or generated client reads it from ``openapi/openapi.json``."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

DOCUMENT: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "openapi" / "openapi.json").read_text()
)


@cache
def _validator(event_type: str) -> Any:
    body = DOCUMENT["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]
    payload = body["schema"]["$ref"]
    schema = {"$ref": f"{payload}/properties/data", "components": DOCUMENT["components"]}
    return jsonschema_rs.Draft202012Validator(schema)


def schema_problems(event_type: str, data: Any) -> list[str]:
    """Why ``data`` does not match the document's schema for ``event_type`` (none: it does)."""
    return [
        f"{'/'.join(str(p) for p in error.instance_path)}: {error.message}"
        for error in _validator(event_type).iter_errors(data)
    ]
