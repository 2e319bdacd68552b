"""Touch templates: validated when a plan is saved, rendered when a touch becomes due.

Templates are written by the firm's staff and run on our servers, so they go through
Jinja2's ``SandboxedEnvironment`` (no attribute access to internals, bounded ``range``).
A broken template is refused at save time, naming the step field: an unknown filter or
test is found by walking the parsed template (Jinja defers unknown filters inside
untaken branches to run time), and an unknown field by a trial render against a sample
contact with strict undefined. At send time rendering is lenient (a missing value renders
empty), so a contact with an empty field never blocks a touch.

Also here: which consent a touch channel needs, and the recipient address for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import (
    ChainableUndefined,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    nodes,
)
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import concat

from app.errors import FieldError

MAX_RENDERED = 100_000

#: Consent channel a touch channel needs. Physical pieces (card, gift, mail) go by post;
#: meetings are arranged by phone; event invitations are e-mailed.
CONSENT_CHANNEL: Mapping[str, str] = {
    "email": "email",
    "event_invite": "email",
    "sms": "sms",
    "call": "call",
    "meeting": "call",
    "mail": "mail",
    "card": "mail",
    "gift": "mail",
}

CONTACT_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "name",
    "company",
    "company_name",
    "job_title",
    "primary_email",
    "primary_phone",
    "address",
    "time_zone",
    "locale",
    "segment",
    "tags",
    "interests",
    "family",
    "custom_fields",
)
MEMBER_FIELDS = ("id", "name", "email")


def _none_as_empty(value: Any) -> Any:
    return "" if value is None else value


class _BoundedSandbox(SandboxedEnvironment):
    """The sandbox, plus no ``"x" * 10**9`` or ``9 ** 9 ** 9``: memory and CPU bombs."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int):
            base_bits = left.bit_length() if isinstance(left, int) else 64
            if abs(right) > 64 or base_bits * abs(right) > 4096:
                raise TemplateError("exponent too large")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(n, int)
                if sized and len(seq) * n > MAX_RENDERED:
                    raise TemplateError("repetition too large")
        return super().call_binop(context, operator, left, right)


def _environment(
    undefined: type[ChainableUndefined] | type[StrictUndefined],
) -> SandboxedEnvironment:
    return _BoundedSandbox(
        undefined=undefined,
        finalize=_none_as_empty,
        autoescape=False,
        keep_trailing_newline=True,
    )


_SEND_ENV = _environment(ChainableUndefined)
_CHECK_ENV = _environment(StrictUndefined)

SAMPLE_CONTEXT: dict[str, Any] = {
    "contact": {
        "id": "00000000-0000-0000-0000-000000000000",
        "first_name": "Jordan",
        "last_name": "Lee",
        "name": "Jordan Lee",
        "company": "Lee & Co",
        "company_name": None,
        "job_title": "Owner",
        "primary_email": "jordan@example.com",
        "primary_phone": "+14155550100",
        "address": {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345"},
        "time_zone": "America/New_York",
        "locale": "en-US",
        "segment": "client",
        "tags": ["sphere"],
        "interests": ["golf"],
        "family": [{"name": "Sam", "relation": "spouse"}],
        "custom_fields": {},
    },
    "member": {"id": "00000000-0000-0000-0000-000000000001", "name": "Dana", "email": "d@x.co"},
    "referral_reminder": "Know someone who is moving? Reply with their name.",
    "plan": {"name": "33 Touch"},
    "workspace": {"name": "Acme Realty"},
}


def _unknown_names(ast: nodes.Template) -> list[str]:
    problems = []
    for node in ast.find_all((nodes.Filter, nodes.Test)):
        assert isinstance(node, nodes.Filter | nodes.Test)
        known = _CHECK_ENV.filters if isinstance(node, nodes.Filter) else _CHECK_ENV.tests
        if node.name not in known:
            kind = "filter" if isinstance(node, nodes.Filter) else "test"
            problems.append(f"unknown {kind} {node.name!r}")
    return problems


def template_problem(source: str) -> str | None:
    """Why ``source`` cannot be used as a touch template, or None when it can."""
    try:
        ast = _CHECK_ENV.parse(source)
    except TemplateSyntaxError as exc:
        return f"template syntax error on line {exc.lineno}: {exc.message}"
    unknown = _unknown_names(ast)
    if unknown:
        return "; ".join(unknown)
    try:
        _CHECK_ENV.from_string(source).render(SAMPLE_CONTEXT)
    except TemplateError as exc:
        return f"template error: {exc.message or exc}"
    except Exception as exc:  # a template may raise anything at render
        return f"template error: {type(exc).__name__}: {exc}"
    return None


def check_step_templates(loc: list[str | int], subject: str | None, body: str) -> list[FieldError]:
    errors = []
    for field, source in (("subject_template", subject), ("body_template", body)):
        if source is None:
            continue
        problem = template_problem(source)
        if problem is not None:
            errors.append(FieldError([*loc, field], problem, "template_error"))
    return errors


@lru_cache(maxsize=2048)
def _compiled(source: str) -> Template:
    return _SEND_ENV.from_string(source)


def render(source: str | None, context: Mapping[str, Any]) -> str | None:
    """Render at send time; never raises (a failure renders the raw source instead).

    The source was checked when saved, so a failure here means data the sample did not
    foresee; sending the literal template is better than silently dropping the touch.
    The context is passed to Jinja as-is (``shared``), with the environment's globals
    merged in by ``send_context``: a third of the cost of ``Template.render``, which
    copies globals for every call, and the scheduler renders thousands per tick.
    """
    if source is None:
        return None
    try:
        template = _compiled(source)
        out = concat(
            template.root_render_func(
                template.new_context(
                    context if isinstance(context, dict) else dict(context), shared=True
                )
            )
        )
    except Exception:  # see the docstring: never fail a send on a template
        out = source
    return out[:MAX_RENDERED]


#: Template variables that are the same for every touch of a member in a plan.
SHARED_NAMES = frozenset({"member", "plan", "workspace", "referral_reminder"})


@lru_cache(maxsize=2048)
def shared_only(source: str) -> bool:
    """Whether the template reads only ``SHARED_NAMES`` (not the contact, not a global
    such as ``lipsum``, no ``random`` filter), so equal shared values render equal text.

    Every name the template loads counts, its own ``set`` and loop variables included:
    a false "no" only costs a render, a false "yes" would send one contact's text to
    another.
    """
    try:
        ast = _SEND_ENV.parse(source)
    except TemplateError:
        return False
    names = {n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"}
    randomised = any(f.name == "random" for f in ast.find_all(nodes.Filter))
    return names <= SHARED_NAMES and not randomised


@lru_cache(maxsize=2048)
def needs_member(source: str) -> bool:
    """Whether the template reads ``member``: its touches need someone to sign them."""
    try:
        ast = _SEND_ENV.parse(source)
    except TemplateError:
        return False
    return any(n.name == "member" for n in ast.find_all(nodes.Name) if n.ctx == "load")


def send_context(values: Mapping[str, Any]) -> dict[str, Any]:
    """Template variables plus the sandbox's globals (``range``, ``dict``...)."""
    return {**_SEND_ENV.globals, **values}


def contact_context(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The ``contact`` variable of a template, from a contacts row (mapping of columns)."""
    ctx = {f: row.get(f) for f in CONTACT_FIELDS if f != "name"}
    ctx["name"] = display_name(row)
    return ctx


def display_name(row: Mapping[Any, Any]) -> str:
    parts = [p for p in (row.get("first_name"), row.get("last_name")) if p]
    if parts:
        return " ".join(str(p) for p in parts)
    return str(row.get("company_name") or row.get("company") or "")


def has_consent(consent: Mapping[str, Any] | None, channel: str) -> bool:
    """``consent[<consent channel>].status == "granted"``; anything else is no consent."""
    entry = (consent or {}).get(CONSENT_CHANNEL.get(channel, channel))
    return isinstance(entry, Mapping) and entry.get("status") == "granted"


def recipient(row: Mapping[Any, Any], channel: str) -> dict[str, Any]:
    """Where the sender delivers: e-mail address, E.164 phone or postal address."""
    consent_channel = CONSENT_CHANNEL.get(channel, channel)
    if consent_channel == "email":
        return {"email": row.get("primary_email")}
    if consent_channel in ("sms", "call"):
        return {"phone": row.get("primary_phone")}
    return {"address": row.get("address")}
