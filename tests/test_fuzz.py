"""Schema-driven fuzzing of the whole API with Schemathesis.

Every operation in the OpenAPI document gets generated requests, valid and invalid, sent
with a real key to the app on a real database. Whatever arrives, the answer must not be a
server error, must use a documented status code and content type, and must match the
documented response schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.clock import FrozenClock
from app.db import Database, async_url
from app.main import create_app
from tests.conftest import T0, Tenant, make_settings, make_tenant

EXAMPLES = 10
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


@pytest.fixture
async def fuzz_target(committed_url: str) -> AsyncIterator[tuple[Database, Tenant]]:
    # NullPool: Schemathesis drives the app from its own event loop, so connections
    # must not outlive a call.
    database = Database(create_async_engine(async_url(committed_url), poolclass=NullPool))
    tenant = await make_tenant(database)
    yield database, tenant
    await database.dispose()


@pytest.fixture
def fuzz_schema(fuzz_target: tuple[Database, Tenant]) -> schemathesis.BaseSchema:
    database, _tenant = fuzz_target
    app = create_app(make_settings(), database=database, clock=FrozenClock(T0))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _fuzz(schema: schemathesis.BaseSchema, headers: dict[str, str], mode: GenerationMode) -> None:
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=dict(headers), checks=CHECKS)

        try:
            run()
        except Unsatisfiable:  # nothing to get wrong: the operation takes no input
            continue
        except Exception as exc:  # collect every broken operation, not only the first
            # With the cause: a flaky failure's own message names only its count of causes.
            causes = getattr(exc, "exceptions", ())
            failures.append(f"{operation.label}: {exc}" + "".join(f"\n  {c!r}" for c in causes))
    assert not failures, "\n\n".join(failures)


def test_valid_requests_keep_the_contract(
    fuzz_schema: schemathesis.BaseSchema, fuzz_target: tuple[Database, Tenant]
) -> None:
    _fuzz(fuzz_schema, fuzz_target[1].headers, GenerationMode.POSITIVE)


def test_invalid_requests_get_documented_client_errors(
    fuzz_schema: schemathesis.BaseSchema, fuzz_target: tuple[Database, Tenant]
) -> None:
    _fuzz(fuzz_schema, fuzz_target[1].headers, GenerationMode.NEGATIVE)
