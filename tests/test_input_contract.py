"""Bodies are accepted exactly as the OpenAPI document describes them.

Schema-driven fuzzing (``schemathesis run --checks all`` against ``rapport serve``) found
amounts and yes/no fields where the server and its document disagreed: the document
allowed any string for an activity's cost, which the server then refused, or documented
``-5`` as a valid amount; the server took a 10,000-digit string of zeros as an amount,
and ``0`` or ``1`` for ``true`` and ``false``. Each case here is checked against both.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError

from app.main import create_app
from app.models.platform.money import Money, Percent, Share
from app.models.referrals.rewards import RewardProgramCreate
from app.services.contacts.importing.parse import read_rows
from tests.conftest import Tenant, make_settings

MONEY_CASES: list[Any] = [
    "1250.00", "0", "12", "999999999999.99", "1.5", "0.05",
    "-5", "1.234", "", " 1", "1,000", "1e3", "0" * 10_000, "1000000000000", "٣",
    12, 0, 10**12 - 1, 10**12, -1, 1.5, 1250.0, True, None,
]  # fmt: skip
PERCENT_CASES: list[Any] = [
    "2.5", "100", "100.0000", "0.0001", "0.5", "99.9999", "7",
    "0", "0.0000", "100.0001", "101", "-1", "2.55555", "",
    1, 100, 0, 101, 2.5, False,
]  # fmt: skip
SHARE_CASES: list[Any] = [
    "0.4", "1", "1.0", "1.0000", "0.0001", "0.5", "0.9999", "0.05",
    "0", "0.0", "0.00000", "1.0001", "2", "-0.5", "0.12345", ".5", "",
    1, 1.0, 0, 2, 0.4, True,
]  # fmt: skip


def _documented(schema: dict[str, Any], value: Any) -> bool:
    """Whether ``value`` fits the field's documented ``anyOf`` of a string pattern and an
    integer range (the two forms ``app.models.platform.money`` documents)."""
    for arm in schema["anyOf"]:
        if arm["type"] == "string" and isinstance(value, str):
            return re.search(arm["pattern"], value) is not None
        whole = type(value) is int or (type(value) is float and value.is_integer())
        if arm["type"] == "integer" and whole:  # to JSON Schema, 1250.0 is an integer
            return bool(arm["minimum"] <= value <= arm["maximum"])
    return False


@pytest.mark.parametrize(
    ("kind", "cases"), [(Money, MONEY_CASES), (Percent, PERCENT_CASES), (Share, SHARE_CASES)]
)
def test_amounts_are_accepted_exactly_where_the_schema_allows(kind: Any, cases: list[Any]) -> None:
    adapter: TypeAdapter[Decimal] = TypeAdapter(kind)
    schema = adapter.json_schema()
    for value in cases:
        try:
            adapter.validate_python(value)
            accepted = True
        except ValidationError:
            accepted = False
        assert accepted == _documented(schema, value), repr(value)[:40]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/engagement-activities", {"cost": ""}, "cost"),
        ("/v1/engagement-activities", {"cost": "0" * 10_000}, "cost"),
        ("/v1/engagement-activities", {"cost": "-5"}, "cost"),
        ("/v1/engagement-activities", {"cost": 0.1}, "cost"),
        ("/v1/engagement-activities", {"cost": True}, "cost"),
        ("/v1/engagement-activities", {"date": 0}, "date"),  # not 1970-01-01
        ("/v1/engagement-activities", {"date": "2026-5-1"}, "date"),
    ],
)
async def test_a_malformed_amount_is_refused_with_its_field_named(
    client: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, Any], field: str
) -> None:
    party = {"kind": "client_party", "name": "Spring party", "date": "2026-05-01", **body}
    r = await client.post(path, json=party, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [["body", field]]


async def test_an_amount_as_a_whole_number_is_taken(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    party = {"kind": "client_party", "name": "Spring party", "date": "2026-05-01", "cost": 1250}
    r = await client.post("/v1/engagement-activities", json=party, headers=tenant.headers)
    assert r.status_code == 201, r.text
    assert Decimal(r.json()["cost"]) == Decimal("1250")


async def test_a_share_sent_as_a_fraction_number_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    url, h = "/v1/analytics/settings", tenant.headers
    r = await client.patch(url, json={"over_reliance_share": 0.4}, headers=h)
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "over_reliance_share"]]
    r = await client.patch(url, json={"over_reliance_share": "0.4"}, headers=h)
    assert (r.status_code, r.json()["over_reliance_share"]) == (200, "0.4000")


@pytest.mark.parametrize("value", [0, 1, "true", "yes", None])
def test_yes_no_fields_take_only_true_and_false(value: Any) -> None:
    rules = [{"amount": {"amount": "10", "kind": "fixed"}, "currency": "USD", "trigger": "closed"}]
    body = {"name": "Thanks", "rules": rules, "is_default": value}
    with pytest.raises(ValidationError) as refused:
        RewardProgramCreate.model_validate(body)
    assert [e["loc"] for e in refused.value.errors()] == [("is_default",)]
    assert RewardProgramCreate.model_validate({**body, "is_default": True}).is_default is True


async def test_a_yes_no_field_sent_as_a_number_is_refused_by_the_api(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    plan = {"name": "Quarterly", "audience": {"segments": [], "tags": []}, "active": 0}
    r = await client.post("/v1/touch-plans", json=plan, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert ["body", "active"] in [e["loc"] for e in r.json()["errors"]]


def test_a_csv_yes_no_cell_is_read_as_text_is() -> None:
    body = b"first_name,do_not_contact\nAna,yes\nBo,FALSE\nCy,1\nDi,maybe\n"
    rows = read_rows(body, "csv")
    assert [r.data["do_not_contact"] for r in rows] == [True, False, True, "maybe"]


async def test_a_time_sent_as_a_number_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await client.post("/v1/contacts", json={"first_name": "Ana"}, headers=tenant.headers)
    logged = {"channel": "call", "direction": "inbound", "occurred_at": 1_700_000_000}
    r = await client.post(
        f"/v1/contacts/{contact.json()['id']}/interactions", json=logged, headers=tenant.headers
    )
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "occurred_at"]]


@pytest.mark.parametrize("value", [False, "5", 5.5])
def test_whole_number_fields_take_only_json_integers(value: Any) -> None:
    rules = [{"amount": {"amount": "10", "kind": "fixed"}, "currency": "USD", "trigger": "closed"}]
    rule = {**rules[0], "hold_days": value}
    with pytest.raises(ValidationError) as refused:
        RewardProgramCreate.model_validate({"name": "Thanks", "rules": [rule]})
    assert [e["loc"] for e in refused.value.errors()] == [("rules", 0, "hold_days")]
    whole = {**rule, "hold_days": 5.0}  # an integer to JSON Schema
    taken = RewardProgramCreate.model_validate({"name": "Thanks", "rules": [whole]})
    assert taken.rules[0].hold_days == 5


def test_bounds_of_whole_numbers_stay_in_the_schema() -> None:
    """The type checks must not hide a field's bounds from the document (pydantic writes
    them as ``ge``/``le``, which JSON Schema ignores, when a validator wraps the type)."""
    document = json.dumps(create_app(make_settings()).openapi())
    assert not re.search(r'"(ge|le|gt|lt)":', document)
    assert '"maximum": 365' in document  # a reward rule's hold_days
