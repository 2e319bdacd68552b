"""Webhook definitions in the OpenAPI document come from the event catalogue."""

from __future__ import annotations

from typing import Any

import pytest

from app.main import create_app
from app.models.platform.event_catalogue import CATALOGUE, EVENT_TYPES, filter_problem
from tests.conftest import make_settings

REQUIRED = {
    "touch.due", "touch.sent", "touch.completed", "touch.skipped", "touch.failed",
    "task.assigned", "task.due", "task.cancelled", "contact.created",
    "contact.updated", "contact.deleted", "contact.merged", "contact.lapsed",
    "contact.stage_changed", "referral.created", "referral.stage_changed", "referral.deleted",
    "referral.follow_up_overdue", "reward.created", "reward.issued", "enrollment.completed",
    "webhook.test", "webhook.delivery_failed", "webhook.endpoint_disabled", "agenda.ready",
}  # fmt: skip


def test_every_catalogued_event_is_a_documented_webhook_with_an_example() -> None:
    spec: dict[str, Any] = create_app(make_settings()).openapi()
    webhooks: dict[str, Any] = spec["webhooks"]
    assert set(webhooks) == REQUIRED == EVENT_TYPES
    ids = []
    for name, item in webhooks.items():
        operation = item["post"]
        ids.append(operation["operationId"])
        body = operation["requestBody"]["content"]["application/json"]
        assert body["example"]["type"] == name
        schema = spec["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]
        assert set(schema["required"]) == {"type", "timestamp", "data"}
        assert schema["properties"]["type"]["const"] == name
        assert schema["properties"]["data"]["$ref"].startswith("#/components/schemas/")
        assert schema["examples"] == [body["example"]]
        headers = {p["name"] for p in operation["parameters"]}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert len(set(ids)) == len(CATALOGUE)
    assert all(i[0].islower() and "_" not in i for i in ids)


@pytest.mark.parametrize("pattern", ["touch.due", "touch.*", "contact.*", "webhook.*"])
def test_known_types_and_covering_prefixes_are_valid_filters(pattern: str) -> None:
    assert filter_problem(pattern) is None


@pytest.mark.parametrize("pattern", ["touch", "touch.dew", "tuch.*", "*", "touch.*.*", ""])
def test_unknown_types_and_empty_prefixes_are_refused(pattern: str) -> None:
    assert filter_problem(pattern) is not None
