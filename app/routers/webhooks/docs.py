"""OpenAPI ``webhooks``: one definition per event type, generated from the catalogue.

These are not routes Rapport serves; they describe the requests Rapport sends, so that
integrators and code generators see each event's body, headers and an example.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response

from app.models.platform import CATALOGUE, EventType
from app.routers.webhooks.event_schemas import EXAMPLE_TIME, payload_ref

router = APIRouter(tags=["webhooks"])


def _operation_id(name: str) -> str:
    """``touch.follow_up`` → ``touchFollowUpWebhook`` (stable, camelCase)."""
    words = name.replace(".", "_").split("_")
    return words[0] + "".join(w.capitalize() for w in words[1:]) + "Webhook"


HEADERS = [
    ("webhook-id", "The event id (`evt_…`); the same on every retry: de-duplicate on it."),
    ("webhook-timestamp", "Unix seconds of this attempt; refuse ones far from your clock."),
    ("webhook-signature", "`v1,<base64 HMAC-SHA256>`; two, space-separated, during rotation."),
]
PARAMETERS = [
    {
        "name": name,
        "in": "header",
        "required": True,
        "description": doc,
        "schema": {"type": "string"},
    }
    for name, doc in HEADERS
]


def _receiver(event: EventType) -> Callable[[], Awaitable[None]]:
    async def receive() -> None:
        """Documentation only: the request is described in ``openapi_extra``."""

    receive.__name__ = _operation_id(event.name)
    return receive


def _description(event: EventType) -> str:
    if not event.delivered:
        how = "Recorded in the event feed (`GET /v1/events`) only; never sent as a webhook."
    else:
        how = "Answer any 2xx within 15 s; anything else is retried on the schedule."
    return f"{event.summary}\n\n{how}"


for _event in CATALOGUE:
    _example = {"type": _event.name, "timestamp": EXAMPLE_TIME, "data": _event.example}
    router.add_api_route(
        _event.name,
        _receiver(_event),
        methods=["POST"],
        operation_id=_operation_id(_event.name),
        summary=_event.name,
        description=_description(_event),
        response_class=Response,
        responses={200: {"description": "Any 2xx acknowledges the delivery."}},
        openapi_extra={
            "parameters": PARAMETERS,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": payload_ref(_event.name), "example": _example}
                },
            },
        },
    )
