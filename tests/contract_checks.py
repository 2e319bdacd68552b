"""Every answer the suite receives, held to the OpenAPI document (the ``client`` fixture).

A generated client reads what the document declares, so each response must keep to it:

* a problem (``application/problem+json``) has an integer ``status`` equal to the HTTP
  status, and a 422 names each offending field in ``errors[].loc``;
* a header the plumbing sends (``ETag``, ``Location``, rate limits, idempotency replays,
  ``Retry-After``, ``X-Request-ID``) is declared for that operation and status, and a
  declared ``ETag`` or ``Location`` of a 2xx is really sent.

The document is the committed one (``openapi/openapi.json``, what clients are generated
from; ``test_openapi`` holds it equal to the app's), read once per test process: asking
each test's new app for its own spent about a second a test building it (cProfile), a
third of the suite's time.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx

CHECKED_HEADERS = (
    "ETag",
    "Location",
    "RateLimit",
    "RateLimit-Policy",
    "Idempotent-Replayed",
    "Idempotent-Redacted",
    "Retry-After",
    "X-Request-ID",
)
ALWAYS_SENT = ("ETag", "Location")
_PARAMETER = re.compile(r"\{[^}/]+\}")


DOCUMENT = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


@cache
def operations() -> list[tuple[re.Pattern[str], int, dict[str, Any]]]:
    """Each documented path as a pattern, literal paths before parameters."""
    found = []
    for template, item in json.loads(DOCUMENT.read_text())["paths"].items():
        pattern = "[^/]+".join(re.escape(part) for part in _PARAMETER.split(template))
        found.append((re.compile(pattern), len(_PARAMETER.findall(template)), item))
    return sorted(found, key=lambda f: f[1])


class ContractChecks:
    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        for pattern, _, item in operations():
            if pattern.fullmatch(path) and method.lower() in item:
                found: dict[str, Any] = item[method.lower()]
                return found
        return None

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        request = response.request
        where = f"{request.method} {request.url.path} -> {response.status_code}"
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            problem = response.json()
            assert problem["status"] == response.status_code, (where, problem)
            assert type(problem["status"]) is int, (where, problem)
            if response.status_code == 422:
                errors = problem.get("errors")
                assert errors, (where, problem)
                assert all(e["loc"] for e in errors), (where, problem)
        operation = self.operation(request.method, request.url.path)
        if operation is None:
            return  # not an operation of the document (docs pages, unknown paths, 405s)
        documented = operation["responses"].get(str(response.status_code))
        if documented is None:
            return  # a status the operation does not list (test_openapi holds them)
        declared = documented.get("headers", {})
        for name in CHECKED_HEADERS:
            if name in response.headers:
                assert name in declared, f"{where}: sends {name} without declaring it"
        if 200 <= response.status_code < 300:
            for name in ALWAYS_SENT:
                if name in declared:
                    assert name in response.headers, f"{where}: declares {name}, sends none"
