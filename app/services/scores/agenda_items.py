"""Turning the agenda's rows into items: each one's value, its one-line reason, the API
calls that settle it. Pure functions; ``agenda`` reads the rows and ranks the items."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.models.scores.agenda import AgendaAction, AgendaContact, AgendaItem
from app.services.scores.agenda_value import (
    ROUTINE_SHARE,
    Relationship,
    WorkspaceFigures,
    explain_relationship,
    money,
    times,
)

_STAGE_WORDS = {
    "advocate": "Advocate",
    "core_advocate": "Core advocate",
}


def _snooze_dismiss(member_id: uuid.UUID, key: str) -> list[AgendaAction]:
    base = f"/v1/members/{member_id}/agenda"
    return [
        AgendaAction(
            name="snooze",
            method="POST",
            path=f"{base}/snoozes",
            body={"key": key, "until": "<YYYY-MM-DD>"},
        ),
        AgendaAction(
            name="dismiss",
            method="POST",
            path=f"{base}/dismissals",
            body={"key": key, "reason": "<why>"},
        ),
    ]


def _record_contact(contact_id: uuid.UUID | None, touch_id: Any = None) -> list[AgendaAction]:
    if contact_id is None:
        return []
    body: dict[str, Any] = {
        "channel": "<call|email|sms|meeting...>",
        "direction": "outbound",
        "occurred_at": "<when>",
        "summary": "<what was said>",
    }
    if touch_id is not None:
        body["touch_id"] = str(touch_id)
    return [
        AgendaAction(
            name="record_contact",
            method="POST",
            path=f"/v1/contacts/{contact_id}/interactions",
            body=body,
        )
    ]


def _complete(touch_id: Any) -> AgendaAction:
    return AgendaAction(
        name="complete_task",
        method="POST",
        path=f"/v1/touches/{touch_id}/outcome",
        body={"outcome": "completed", "note": "<what happened>"},
    )


def _days(later: datetime, earlier: datetime) -> int:
    return max(int((later - earlier).total_seconds() // 86_400), 0)


def item_key(row: Any) -> str:
    return str(row["key"])


class ItemBuilder:
    """Builds one member's items for one day from the gathered rows and figures."""

    def __init__(
        self,
        *,
        member_id: uuid.UUID,
        at: datetime,
        day: date,
        lift: float,
        currency: str,
        threshold_days: int,
        workspace: WorkspaceFigures,
        contacts: dict[uuid.UUID, Any],
        relationships: dict[uuid.UUID, Relationship],
    ) -> None:
        self.member_id = member_id
        self.at = at
        self.day = day
        self.lift = lift
        self.currency = currency
        self.threshold = threshold_days
        self.workspace = workspace
        self.contacts = contacts
        self.relationships = relationships

    def value(self, row: Any) -> Decimal:
        """The item's value (``agenda_value``), cheap enough to rank every candidate."""
        if row["kind"] == "follow_up":
            deal, _ = self._deal(row)
            return times(deal, self.workspace.close_rate, self.lift)
        rel = self.relationships.get(row["contact_id"]) if row["contact_id"] else None
        yearly = rel.yearly_value if rel else Decimal(0)
        share = (ROUTINE_SHARE,) if row["kind"] in ("task", "observance") else ()
        return times(yearly, self.lift, *share)

    def _deal(self, row: Any) -> tuple[Decimal, str]:
        if row["deal"] is not None:
            return Decimal(row["deal"]), "expected value"
        return self.workspace.average_deal, "average closed deal"

    def _contact(self, contact_id: uuid.UUID | None) -> AgendaContact | None:
        """The item's contact (from the row read for it), built only for items shown."""
        r = self.contacts.get(contact_id) if contact_id else None
        if r is None or r["name"] is None:
            return None
        return AgendaContact(
            id=contact_id, name=r["name"], segment=r["segment"], advocacy_stage=r["advocacy_stage"]
        )

    def build(self, row: Any) -> AgendaItem:
        key = item_key(row)
        value, reason, actions = getattr(self, f"_{row['kind']}")(row, json.loads(row["info"]))
        return AgendaItem(
            key=key,
            kind=row["kind"],
            contact=self._contact(row["contact_id"]),
            reason=reason,
            due_at=row["due_at"],
            value=value,
            record_id=row["record_id"],
            actions=[*actions, *_snooze_dismiss(self.member_id, key)],
        )

    def _rel(self, contact_id: uuid.UUID | None) -> str:
        rel = self.relationships.get(contact_id) if contact_id else None
        if rel is None:
            return "no referral history"
        return explain_relationship(rel, self.lift, self.currency)

    def _name(self, contact_id: uuid.UUID | None) -> str:
        contact = self.contacts.get(contact_id) if contact_id else None
        return str(contact["name"]) if contact else "someone"

    def _task(self, row: Any, info: dict[str, Any]) -> tuple[Decimal, str, list[AgendaAction]]:
        why = self._rel(row["contact_id"])
        value = self.value(row)
        late = _days(self.at, row["due_at"])
        when = f"overdue {late} d" if row["due_at"] < self.at and late else "due today"
        what = info.get("subject") or str(info["content_kind"]).replace("_", " ")
        reason = (
            f"{info['channel'].capitalize()} {self._name(row['contact_id'])} ({what}), {when}: "
            f"routine touch worth {self.currency} {value:,} = {why} x {ROUTINE_SHARE:.0%} "
            "of a year's touches"
        )
        return value, reason, [_complete(row["record_id"]), *_record_contact(row["contact_id"])]

    def _follow_up(self, row: Any, info: dict[str, Any]) -> tuple[Decimal, str, list[AgendaAction]]:
        deal, source = self._deal(row)
        rate = self.workspace.close_rate
        value = self.value(row)
        name = self._name(row["contact_id"])
        if info["stage"] == "received":
            late = (self.at - datetime.fromisoformat(info["received_at"])).total_seconds() / 3600
            why = f"referral {name} not contacted {late:.0f} h after it came in"
        else:
            usual = float(info["usual_hours"])
            why = (
                f"referral {name} stalled in '{info['stage']}' for "
                f"{_days(self.at, datetime.fromisoformat(info['stage_changed_at']))} d "
                f"(usual time x factor: {usual / 24:.1f} d)"
            )
        reason = (
            f"Follow up: {why}; worth {self.currency} {value:,} = {self.currency} "
            f"{money(deal):,} ({source}) x {rate:.0%} close rate x {self.lift:.0%} touch lift"
        )
        return value, reason, _record_contact(row["contact_id"])

    def _reconnect(self, row: Any, info: dict[str, Any]) -> tuple[Decimal, str, list[AgendaAction]]:
        why = self._rel(row["contact_id"])
        value = self.value(row)
        contact = self.contacts.get(row["contact_id"]) if row["contact_id"] else None
        stage = _STAGE_WORDS.get(contact["advocacy_stage"] if contact else "", "Advocate")
        since = _days(self.at, datetime.fromisoformat(info["since"]))
        if row["due_at"] <= self.at:
            state = f"lapsed {_days(self.at, row['due_at'])} d ago"
        else:
            state = f"lapses in {_days(row['due_at'], self.at)} d"
        reason = (
            f"{stage} {self._name(row['contact_id'])}: {since} days since the last engagement, "
            f"{state} (threshold {self.threshold} d); reconnecting protects "
            f"{self.currency} {value:,} = {why}"
        )
        return value, reason, _record_contact(row["contact_id"])

    def _observance(
        self, row: Any, info: dict[str, Any]
    ) -> tuple[Decimal, str, list[AgendaAction]]:
        why = self._rel(row["contact_id"])
        value = self.value(row)
        day = date.fromisoformat(info["date"])
        ahead = (day - self.day).days
        when = "today" if ahead == 0 else f"in {ahead} d ({day.isoformat()})"
        what = info.get("label") or str(info["kind"]).replace("_", " ")
        reason = (
            f"{self._name(row['contact_id'])}'s {what} {when}, no touch planned: worth "
            f"{self.currency} {value:,} = {why} x {ROUTINE_SHARE:.0%} of a year's touches"
        )
        return value, reason, _record_contact(row["contact_id"])

    def _approve(self, row: Any, info: dict[str, Any]) -> tuple[Decimal, str, list[AgendaAction]]:
        why = self._rel(row["contact_id"])
        value = self.value(row)
        reason = (
            f"Approve {info['currency']} {money(Decimal(str(info['amount']))):,} {info['kind']} "
            f"reward for {self._name(row['contact_id'])} "
            f"(waiting {_days(self.at, row['due_at'])} d): "
            f"a prompt reward keeps {self.currency} {value:,} = {why}"
        )
        action = AgendaAction(
            name="approve_reward",
            method="POST",
            path=f"/v1/rewards/{row['record_id']}/approve",
            body={},
        )
        return value, reason, [action]

    def _thank(self, row: Any, info: dict[str, Any]) -> tuple[Decimal, str, list[AgendaAction]]:
        why = self._rel(row["contact_id"])
        value = self.value(row)
        referred = info.get("referred") or "a new client"
        reason = (
            f"Thank {self._name(row['contact_id'])} for referring {referred} "
            f"({_days(self.at, row['due_at'])} d ago, not thanked yet): keeps "
            f"{self.currency} {value:,} = {why}"
        )
        touch_id = row["ref_id"]
        actions = [_complete(touch_id)] if touch_id else []
        return value, reason, [*actions, *_record_contact(row["contact_id"], touch_id)]
