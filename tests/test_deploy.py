"""The deployment files say what README "Deploying" says they do.

``docker compose config`` validates ``compose.yaml`` where the compose plugin is installed
(``make compose-config``, part of ``make test``); these hold its shape everywhere: the
services, their order of starting, health checks, replicas on a port range, the named
volume, and connections within PostgreSQL's limit. The image's own behaviour (entrypoint,
port, health check) is run as processes in ``tests/test_cli.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEDULER_CONNECTIONS = 6  # app.main._jobs_database: pool_size 2, so 2 reads and 4 writes


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_compose_runs_postgres_then_a_one_shot_migration_then_two_replicas() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "migrate", "rapport"}
    migrate, rapport = services["migrate"], services["rapport"]
    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert rapport["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert rapport["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert rapport["environment"]["RAPPORT_MIGRATE_ON_START"] == "false"
    assert migrate["image"] == rapport["image"]  # the migration of the version served


def test_compose_replicas_share_a_port_range_with_health_checks() -> None:
    services = _compose()["services"]
    rapport = services["rapport"]
    replicas = rapport["deploy"]["replicas"]
    assert replicas == 2
    (published,) = rapport["ports"]
    first, last, target = re.fullmatch(r"(?:127\.0\.0\.1:)?(\d+)-(\d+):(\d+)", published).groups()  # type: ignore[union-attr]
    assert int(last) - int(first) + 1 == replicas
    assert target == rapport["environment"]["PORT"]
    assert rapport["healthcheck"]["test"] == ["CMD", "rapport", "healthcheck"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]


def test_compose_keeps_the_data_in_a_named_volume_and_pins_images() -> None:
    compose = _compose()
    postgres = compose["services"]["postgres"]
    assert "pgdata" in compose["volumes"]
    assert any(v.startswith("pgdata:") for v in postgres["volumes"])
    assert re.search(r"@sha256:[0-9a-f]{64}$", postgres["image"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"ARG PYTHON_IMAGE=python:[\w.-]+@sha256:[0-9a-f]{64}\n", dockerfile)


def test_compose_connections_fit_postgres_max_connections() -> None:
    services = _compose()["services"]
    rapport = services["rapport"]
    pool = int(rapport["environment"]["RAPPORT_DB_POOL_SIZE"])
    per_replica = 3 * pool + SCHEDULER_CONNECTIONS  # reads, writes (twice), scheduler
    command = services["postgres"]["command"]
    max_connections = int(command[command.index("-c") + 1].split("=")[1])
    assert rapport["deploy"]["replicas"] * per_replica + 10 <= max_connections
