"""The committed OpenAPI document is the contract: it must match the app exactly."""

from __future__ import annotations

import json
from pathlib import Path

from app.main import create_app
from tests.conftest import make_settings

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def _spec() -> dict[str, object]:
    spec: dict[str, object] = create_app(make_settings()).openapi()
    return spec


def test_committed_spec_matches_the_app() -> None:
    committed = json.loads(SPEC.read_text())
    assert committed == json.loads(json.dumps(_spec())), (
        "openapi/openapi.json is stale: run `make openapi` and commit the result"
    )


def test_every_operation_has_a_stable_id_tag_and_error_responses() -> None:
    spec = _spec()
    paths: dict[str, dict[str, dict[str, object]]] = spec["paths"]  # type: ignore[assignment]
    ids: list[str] = []
    for path, operations in paths.items():
        for method, op in operations.items():
            op_id = str(op["operationId"])
            ids.append(op_id)
            assert op_id[0].islower(), f"{method} {path}: {op_id}"
            assert "_" not in op_id, f"{method} {path}: {op_id}"
            assert op.get("tags"), f"{method} {path} has no tag"
            if path.startswith("/v1/"):
                responses: dict[str, object] = op["responses"]  # type: ignore[assignment]
                assert {"401", "422"} <= responses.keys(), f"{method} {path}"
                assert op.get("security"), f"{method} {path} declares no security"
    assert len(ids) == len(set(ids))


def test_problem_schema_and_bearer_scheme_are_documented() -> None:
    spec = _spec()
    components: dict[str, dict[str, object]] = spec["components"]  # type: ignore[assignment]
    assert "Problem" in components["schemas"]
    assert components["securitySchemes"]["HTTPBearer"] == {  # type: ignore[index]
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "rk_live_…",
        "description": "An API key of the workspace: `Authorization: Bearer rk_live_…`.",
    }


def test_component_names_are_unique_and_carry_no_module_path() -> None:
    """A generated client names its classes after these: ``app__models__…`` or two
    schemas with one title would reach every integrator's code."""
    components: dict[str, dict[str, dict[str, object]]] = _spec()["components"]  # type: ignore[assignment]
    schemas = components["schemas"]
    assert [name for name in schemas if "__" in name] == []
    titles = [str(schema.get("title", name)) for name, schema in schemas.items()]
    assert sorted(t for t in titles if titles.count(t) > 1) == []


def test_every_operation_has_a_short_english_summary() -> None:
    """Written for a person ("List contacts"), not derived from the handler's name
    ("List Contacts Route")."""
    app = create_app(make_settings())
    handlers = {
        route.operation_id: route.name
        for route in app.routes
        if getattr(route, "operation_id", None)
    }
    paths: dict[str, dict[str, dict[str, object]]] = _spec()["paths"]  # type: ignore[assignment]
    summaries = []
    for path, operations in paths.items():
        for method, op in operations.items():
            summary = str(op.get("summary", ""))
            summaries.append(summary)
            handler = handlers.get(str(op["operationId"]), "")
            assert summary, f"{method} {path} has no summary"
            assert summary != handler.replace("_", " ").title(), f"{method} {path}: {summary}"
            assert summary[0].isupper(), f"{method} {path}: {summary}"
            assert not summary.endswith("."), f"{method} {path}: {summary}"
            assert len(summary) <= 60, f"{method} {path}: {summary}"
            words = summary.split()[1:]
            assert not all(w[0].isupper() for w in words if w[0].isalpha()), summary
    assert len(summaries) == len(set(summaries))
