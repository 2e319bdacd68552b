"""The typed payload of each event type, for the OpenAPI ``webhooks`` section.

Each domain's models declare what its events carry (``EVENT_DATA``: type → model), and
its services build the ``data`` of those events through the same models; here each type
becomes a payload model ``{type, timestamp, actor, data}`` whose JSON schema (with every
schema it refers to) is added to the document's components, so a client generator gets
one class per event. This module reads the other domains' models (their public faces):
the webhooks domain documents what every domain sends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model
from pydantic.json_schema import models_json_schema

from app.models import contacts, referrals, scores, touches, webhooks
from app.models.platform import CATALOGUE, Actor, OutputModel

EVENT_DATA: dict[str, type[BaseModel]] = {
    **contacts.EVENT_DATA,
    **scores.EVENT_DATA,
    **referrals.EVENT_DATA,
    **touches.EVENT_DATA,
    **webhooks.EVENT_DATA,
}
_REF = "#/components/schemas/{model}"
EXAMPLE_TIME = "2026-11-23T12:00:00Z"


def payload_name(event_type: str) -> str:
    """``referral.stage_changed`` → ``ReferralStageChangedEvent``."""
    words = event_type.replace(".", "_").split("_")
    return "".join(w.capitalize() for w in words) + "Event"


def _payload_model(event_type: str, data: type[BaseModel]) -> type[BaseModel]:
    model: type[BaseModel] = create_model(
        payload_name(event_type),
        __base__=OutputModel,
        __doc__=f"The body of a `{event_type}` webhook; the same bytes are what is signed.",
        type=(Literal[event_type], Field(description="The event type.")),  # type: ignore[arg-type]
        timestamp=(datetime, Field(description="When the event happened (UTC).")),
        actor=(
            Actor | None,
            Field(default=None, description="Who made the change: a member, a key, `system`."),
        ),
        data=(data, Field(description="The resource the event is about.")),
    )
    return model


PAYLOADS: dict[str, type[BaseModel]] = {
    event.name: _payload_model(event.name, EVENT_DATA[event.name]) for event in CATALOGUE
}


def payload_ref(event_type: str) -> dict[str, str]:
    return {"$ref": _REF.format(model=payload_name(event_type))}


def add_event_schemas(document: dict[str, Any]) -> None:
    """Put every payload's schema (and the schemas they use) in the components; a schema
    the API's operations already define under the same name is left as it is."""
    _, top = models_json_schema(
        [(model, "serialization") for model in PAYLOADS.values()], ref_template=_REF
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in top.get("$defs", {}).items():
        schemas.setdefault(name, schema)
    for event in CATALOGUE:  # the catalogue's example, on the payload and on its data
        example = {"type": event.name, "timestamp": EXAMPLE_TIME, "data": event.example}
        schemas[payload_name(event.name)]["examples"] = [example]
        # Set again here: FastAPI drops the nulls of the example the route declares.
        body = document.get("webhooks", {}).get(event.name, {}).get("post", {})
        for media in body.get("requestBody", {}).get("content", {}).values():
            media["example"] = example
        data = schemas[EVENT_DATA[event.name].__name__]
        data.setdefault("examples", [event.example])
