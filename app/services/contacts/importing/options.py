"""What an import is asked to do: which keys find an existing contact (``match_on``) and
what a row that found one may change (``mode``, per column).

``match_on`` lists ``external_id``, ``email`` and ``phone`` in the order they are tried:
the first that finds a contact decides. ``mode`` is a policy, ``fill_empty`` (the
default: set only what the contact does not have yet), ``overwrite`` (set what the row
gives) or ``skip`` (leave the contact as it is), optionally followed by per-column
policies: ``fill_empty,segment:overwrite,tags:overwrite``. Columns are named as in a CSV
header (``email``, ``address.city``, ``consent.sms``, ``custom.lead_source``,
``external_id.crm``) or by field (``emails``, ``address``, ``custom_fields``).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.models.contacts.inputs import Address, Consent
from app.services.contacts.rows import INPUT_COLUMNS

MATCH_KEYS = ("external_id", "email", "phone")
DEFAULT_MATCH_ON = ",".join(MATCH_KEYS)
MODES = ("fill_empty", "overwrite", "skip")
DEFAULT_MODE = "fill_empty"
#: Fields whose keys are columns of their own (``address.city``), each with its keys
#: (None: any key).
NESTED: dict[str, frozenset[str] | None] = {
    "address": frozenset(Address.model_fields),
    "consent": frozenset(Consent.model_fields),
    "custom_fields": None,
    "external_ids": None,
}
_ALIASES = {
    "email": "emails",
    "phone": "phones",
    "custom": "custom_fields",
    "external_id": "external_ids",
}


def parse_match_on(text: str) -> tuple[str, ...]:
    """The keys of a ``match_on`` value, in order (none: every row creates a contact)."""
    keys = tuple(part.strip() for part in text.split(",") if part.strip())
    for key in keys:
        if key not in MATCH_KEYS:
            raise ValueError(f"unknown key {key!r}: match on {', '.join(MATCH_KEYS)}")
    if len(set(keys)) != len(keys):
        raise ValueError("name each key once")
    return keys


def _field(column: str) -> str:
    """The field path (``emails``, ``address.city``, ``custom_fields.x``) of a column."""
    name, dot, key = column.partition(".")
    name = _ALIASES.get(name, name)
    if not dot:
        if name in INPUT_COLUMNS or name in NESTED:
            return name
        raise ValueError(f"unknown column {column!r}")
    keys = NESTED.get(name, frozenset())
    if not key or (keys is not None and key not in keys):
        raise ValueError(f"unknown column {column!r}")
    return f"{name}.{key}"


@dataclass(frozen=True)
class Policy:
    """What a matched row may change, column by column (see the module's docstring)."""

    default: str = DEFAULT_MODE
    columns: tuple[tuple[str, str], ...] = ()  # (field path, mode), as given

    def of(self, field: str, key: str | None = None) -> str:
        """The mode of a field, or of one key of a nested field (its own, else the
        field's, else the default)."""
        given = dict(self.columns)
        if key is not None and f"{field}.{key}" in given:
            return given[f"{field}.{key}"]
        return given.get(field, self.default)

    @property
    def spec(self) -> str:
        """The policy as a ``mode`` value, columns by field path."""
        return ",".join([self.default, *(f"{f}:{m}" for f, m in self.columns)])


@dataclass(frozen=True)
class ImportOptions:
    """How a job imports: its keys, its policy, and whether it only says what it would do."""

    match_on: tuple[str, ...] = MATCH_KEYS
    policy: Policy = Policy()
    dry_run: bool = False


def parse_mode(text: str) -> Policy:
    """A ``mode`` value: a policy, then ``column:policy`` entries, comma-separated."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    default = DEFAULT_MODE
    if parts and ":" not in parts[0]:
        default = parts.pop(0)
    columns: dict[str, str] = {}
    for part in parts:
        column, colon, mode = (p.strip() for p in part.partition(":"))
        if not colon:
            raise ValueError(f"{part!r}: give the policy first, then column:policy entries")
        field = _field(column)
        if field in columns:
            raise ValueError(f"column {column!r} is given twice")
        columns[field] = mode
    for mode in (default, *columns.values()):
        if mode not in MODES:
            raise ValueError(f"unknown policy {mode!r}: use {', '.join(MODES)}")
    return Policy(default, tuple(columns.items()))
