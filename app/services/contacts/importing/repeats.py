"""Rows of one file that share a key: refused together, before any row is written.

Two rows with the same e-mail (or phone, or external id) in one file are one person
written twice, or two people mixed up; importing the first and letting the second update
it is how an import silently overwrites. So every row sharing a key with another row is
refused, naming the other lines, and none of them is applied. The keys are those the
import matches on (``match_on``), and external ids always (no two contacts may hold one).

The whole file must be seen before its first batch is written, so the keys are noted
while the request reads the file (``watch``), cheaply: an external id and an e-mail are
compared as given (trimmed; e-mails without case), but a phone number is only known
after a parse (``(415) 555-0123`` and ``+1 415 555 0123`` are one number) and parsing
every number here would double the import's costliest step. A number is noted by its
last seven digits, before any extension; only numbers sharing those are parsed, and
only those equal once parsed are repeats. Spellings this cannot see as one (a vanity
number, ``1-800-FLOWERS``) are not refused here but only within a batch, once validated
(``batch_refusals``); across batches a later row matches the contact the earlier one
created, like a row of another file would.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import phonenumbers
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.contacts.imports import ContactImportRepeat
from app.models.contacts.inputs import DEFAULT_REGION
from app.services.contacts.importing.parse import RawRow
from app.services.contacts.importing.problems import lines_text, shown
from app.services.contacts.importing.rows import Row

Key = tuple[str, str]  # (kind, key): ("email", "dana@x.example"), ("external_id", "crm:7")
_NUMBER = re.compile(r"\D*[\d\s()./+\-]*")  # what precedes an extension or a word
_NOT_DIGIT = re.compile(r"\D")
_WHAT = {"email": "e-mail", "phone": "phone number"}


def _texts(entries: Any, key: str) -> Iterator[str]:
    if isinstance(entries, list):
        for entry in entries:
            value = entry.get(key) if isinstance(entry, dict) else None
            if isinstance(value, str) and value.strip():
                yield value


def _coarse(number: str) -> str:
    match = _NUMBER.match(number)
    return _NOT_DIGIT.sub("", match.group() if match else "")[-7:]


def _region(data: dict[str, Any]) -> str:
    """The region ``ContactCreate`` parses the row's numbers in."""
    address = data.get("address")
    country = address.get("country") if isinstance(address, dict) else None
    region = data.get("default_region") or country or DEFAULT_REGION
    return region.strip().upper() if isinstance(region, str) else DEFAULT_REGION


def _e164(number: str, region: str) -> str | None:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None  # refused by validation anyway
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class Repeats:
    """The keys of a file's rows as they are read, and then the rows that share one."""

    def __init__(self, match_on: Sequence[str]) -> None:
        self._emails = "email" in match_on
        self._phones = "phone" in match_on
        self._first: dict[Key, int] = {}  # each key's first line
        self._more: dict[Key, list[int]] = {}  # keys on several lines: all of them
        self._numbers: dict[str, Any] = {}  # last digits: (line, number, region) or a list

    def watch(self, rows: Iterable[RawRow]) -> Iterator[RawRow]:
        """``rows`` unchanged, their keys noted as they pass."""
        for row in rows:
            if row.data:
                self._note(row.line, row.data)
            yield row

    def _note(self, line: int, data: dict[str, Any]) -> None:
        # Every row passes here while the request reads the file, before the first batch
        # can start: no set or generator per row, a key's first line noted in one dict
        # operation, and a list of lines only for a key seen before.
        first = self._first
        external = data.get("external_ids")
        if isinstance(external, dict):
            for source, value in external.items():
                if isinstance(value, str) and (value := value.strip()):
                    key = ("external_id", f"{source}:{value}")
                    if first.setdefault(key, line) != line:
                        self._again(key, line)
        if self._emails:
            for address in _texts(data.get("emails"), "address"):
                key = ("email", address.strip().lower())
                if first.setdefault(key, line) != line:
                    self._again(key, line)
        if self._phones:
            numbers = list(_texts(data.get("phones"), "number"))
            if numbers:
                region = _region(data)
                for number in dict.fromkeys(numbers):
                    entry = (line, number, region)
                    coarse = _coarse(number)
                    seen = self._numbers.setdefault(coarse, entry)
                    if seen is not entry:
                        if isinstance(seen, tuple):
                            self._numbers[coarse] = seen = [seen]
                        seen.append(entry)

    def _again(self, key: Key, line: int) -> None:
        """``key``, first seen on another line, is on ``line`` too."""
        lines = self._more.setdefault(key, [self._first[key]])
        if lines[-1] != line:  # rows come in file order: the same row again
            lines.append(line)

    def _phone_groups(self) -> dict[Key, list[int]]:
        groups: dict[Key, list[int]] = {}
        for entries in self._numbers.values():
            if isinstance(entries, list):
                by_number: dict[str, set[int]] = {}
                for line, number, region in entries:
                    e164 = _e164(number, region)
                    if e164 is not None:
                        by_number.setdefault(e164, set()).add(line)
                for e164, lines in by_number.items():
                    if len(lines) > 1:
                        groups[("phone", e164)] = sorted(lines)
        return groups

    def refusals(self) -> dict[int, list[dict[str, Any]]]:
        """Once the file is read: each line sharing a key, with an entry per key shared."""
        return refusals({**self._more, **self._phone_groups()})


def refusals(groups: dict[Key, list[int]]) -> dict[int, list[dict[str, Any]]]:
    """The error entries of lines sharing keys (``groups``: each key's lines)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for (kind, key), lines in groups.items():
        if kind == "external_id":
            source, _, value = key.partition(":")
            loc: list[str] = ["external_ids", source]
            what = f"{source} id"
        else:
            loc, value, what = [f"{kind}s"], key, _WHAT[kind]
        message = (
            f"the same {what} ({shown(value)}) is on {lines_text(lines)}: "
            "none of these rows is imported"
        )
        for line in lines:
            out.setdefault(line, []).append({"loc": loc, "msg": message, "value": value})
    return out


def batch_refusals(rows: Sequence[Row], match_on: Sequence[str]) -> dict[int, list[dict[str, Any]]]:
    """``refusals`` of a batch's validated rows, by their keys as validated: what the
    file's reading could not see as one (an address differing only in a form that
    validation normalises) still never makes two contacts in one batch."""
    first: dict[Any, int] = {}  # each key's first line: (source, id), e-mail or number
    lines: dict[Key, list[int]] = {}
    emails, phones = "email" in match_on, "phone" in match_on

    def see(seen: Any, key: Key, line: int) -> None:
        earlier = first.setdefault(seen, line)
        if earlier != line:
            group = lines.setdefault(key, [earlier])
            if group[-1] != line:
                group.append(line)

    for row in rows:
        for source, value in row.keys:
            see((source, value), ("external_id", f"{source}:{value}"), row.line)
        if emails:
            for address in row.emails:
                address = address.lower()
                see(address, ("email", address), row.line)
        if phones:
            for number in row.phones:
                see(number, ("phone", number), row.line)
    return refusals(lines)


_R = ContactImportRepeat


async def store(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    job_id: uuid.UUID,
    refused: dict[int, list[dict[str, Any]]],
) -> None:
    """Keep a file's repeated rows for the batches of their lines (one statement)."""
    if refused:
        rows = [
            {"workspace_id": workspace_id, "import_id": job_id, "line": line, "errors": errors}
            for line, errors in refused.items()
        ]
        await session.execute(insert(_R.__table__), rows)


async def take(
    session: AsyncSession, workspace_id: uuid.UUID, job_id: uuid.UUID, first: int, last: int
) -> dict[int, list[dict[str, Any]]]:
    """The repeated rows from line ``first`` to ``last``, deleted as they are read (the
    batch that reports them commits with it)."""
    stmt = (
        delete(_R)
        .where(
            col(_R.workspace_id) == workspace_id,
            col(_R.import_id) == job_id,
            col(_R.line).between(first, last),
        )
        .returning(col(_R.line), col(_R.errors))
    )
    return {row.line: row.errors for row in await session.execute(stmt)}
