"""The application factory and its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from app import edge
from app.clock import Clock, SystemClock
from app.config import Settings, get_settings
from app.db import Database
from app.logging_setup import configure_logging
from app.middleware import RequestContextMiddleware
from app.problems import install as install_problem_handlers
from app.routers import analytics, contacts, platform, referrals, scores, touches, webhooks
from app.routers.platform import complete_contract, screen_routers
from app.services.platform import credential_resolver
from app.state import AppState

log = logging.getLogger("rapport")
IMPORT_PATHS = ("/v1/contacts/imports",)
# Routes are matched in this order, one by one: the busiest come first (a GET of a contact
# matched ~20 routes of health, workspace, keys, members and events before its own).
ROUTERS = (
    *contacts.routers,
    *platform.routers,
    *webhooks.routers,
    *referrals.routers,
    *touches.routers,
    *scores.routers,
    *analytics.routers,
)

DESCRIPTION = """
Rapport turns past clients and partner businesses into a steady stream of referrals:
contacts and their inner circle, planned touches, referrals and rewards, scores.

* **Auth**: `Authorization: Bearer rk_live_…` (scopes `read`, `write`, `admin`).
* **Errors**: RFC 9457 `application/problem+json`, with `errors[].loc` naming each field.
* **Values**: amounts are decimal strings (`"1250.00"`) or whole numbers, never fractions
  as JSON numbers; yes/no fields take `true` or `false` only. Bodies match this document.
* **Lists**: keyset pages: `limit` (≤ 200), `cursor`; responses `{data, next_cursor}`.
* **Writes**: `Idempotency-Key` on POST; `If-Match` with the `ETag` on PATCH.
"""


def operation_id(route: APIRoute) -> str:
    """Operation ids are set by hand on every route; this fallback keeps them stable."""
    return route.name


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state: AppState = app.state.rapport
        state.db  # noqa: B018  (fails fast when no database is configured)
        log.info("rapport started", extra={"environment": settings.environment})
        if settings.webhooks_enabled:
            from app.services.webhooks import WebhookDispatcher

            dispatcher = WebhookDispatcher(state.db, settings, state.clock)
            await dispatcher.start()
            state.background.append(dispatcher)
        jobs_db: Database | None = None
        if settings.scheduler_enabled:
            from app.services.jobs import JOBS
            from app.services.platform import Scheduler

            jobs_db = _jobs_database(settings) if database is None else state.db
            scheduler = Scheduler(jobs_db, state.clock, settings, JOBS)
            scheduler.start()
            state.background.append(scheduler)
        try:
            yield
        finally:
            for worker in reversed(state.background):
                await worker.stop()
            await state.keys.close()
            if database is None:
                await state.db.dispose()
                if jobs_db is not None:
                    await jobs_db.dispose()

    app = FastAPIOffline(
        title="Rapport API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        separate_input_output_schemas=True,
        # Rapport reports through /metrics and its JSON logs. FastAPI's own OpenTelemetry
        # hooks looked the global providers up on every request (2.5% of a GET of a
        # contact under cProfile) to find none configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.rapport = AppState(
        settings=settings,
        database=database or _database(settings),
        clock=clock or SystemClock(),
        keys=credential_resolver(settings),
    )
    install_problem_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    screen_routers(app)
    app.webhooks.include_router(webhooks.event_docs)  # documents what we send, serves nothing
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_import_bytes=settings.max_import_bytes,
        import_paths=IMPORT_PATHS,
    )
    edge.install(app, app.state.rapport)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _database(settings: Settings) -> Database | None:
    """The requests' database: statements, connects and pool waits cut at the timeout."""
    if not settings.database_url:
        return None
    return Database.from_url(
        settings.database_url,
        pool_size=settings.db_pool_size,
        timeout_seconds=settings.db_timeout_seconds,
    )


def _jobs_database(settings: Settings) -> Database:
    """The scheduler's own few connections, whose statements may run long (``app.db``)."""
    assert settings.database_url is not None  # the requests' database was made from it
    return Database.from_url(
        settings.database_url,
        pool_size=2,
        timeout_seconds=settings.db_timeout_seconds,
        statement_timeout_seconds=settings.scheduler_statement_timeout_ms / 1000,
    )


def _openapi(app: FastAPI) -> dict[str, object]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        webhooks=app.webhooks.routes,
    )
    _member_tokens(schema)
    complete_contract(schema, app.routes)
    webhooks.add_event_schemas(schema)
    app.openapi_schema = schema
    return schema


MEMBER_TOKEN = "MemberToken"  # noqa: S105 (a scheme name)
_MEMBER_TOKEN_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": (
        "A signed-in member's token, for apps acting as a person: a token of the "
        "workspace's identity provider (OpenID Connect, `PUT /v1/workspace/identity-provider`)"
        " or a built-in session token (`POST /v1/members/{member_id}/sessions`). The member's "
        "role decides what it may do, the workspace's `visibility` what it sees."
    ),
}


def _member_tokens(schema: dict[str, Any]) -> None:
    """Declare the second way to authenticate: every operation an API key may call, a
    member token may call too (``security`` lists the alternatives). FastAPI names one
    scheme per dependency; both credentials arrive as ``Authorization: Bearer``, resolved
    by one dependency, so the alternative is added here."""
    components = schema.setdefault("components", {})
    schemes = components.setdefault("securitySchemes", {})
    schemes[MEMBER_TOKEN] = _MEMBER_TOKEN_SCHEME
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            security = operation.get("security") if isinstance(operation, dict) else None
            if security and {MEMBER_TOKEN: []} not in security:
                security.append({MEMBER_TOKEN: []})


def create_production_app() -> FastAPI:
    """Entry point for uvicorn's ``--factory``: settings and logging from the environment."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
