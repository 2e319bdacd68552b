"""Template warnings: a variable printed as is that some contacts do not have.

A broken template is refused when the plan is saved (``render.template_problem``); a
template that works but prints ``Hi {{ contact.first_name }},`` greets a business as
"Hi ,". Such a template is accepted with a warning in the answer, naming the field and
the variable, so the editor can guard it: ``{{ contact.first_name or contact.name }}``,
``{{ contact.job_title | default("") }}`` or ``{% if contact.company %}…{% endif %}``.

Only what the scheduler cannot guarantee is warned about: the contact's optional fields.
The member who signs a touch is never empty (a plan that names the member is enrolled
only for contacts with an owner or a workspace default sender), nor are the plan's name,
the workspace's name or the referral reminder.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from jinja2 import TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

from app.models.touches.plan_schemas import TemplateWarning

#: Contact fields some contacts lack (a business has no first name, a prospect no e-mail).
EMPTYABLE = frozenset(
    {
        "first_name",
        "last_name",
        "company",
        "company_name",
        "job_title",
        "primary_email",
        "primary_phone",
        "address",
        "time_zone",
        "locale",
        "tags",
        "interests",
        "family",
        "custom_fields",
    }
)
_DEFAULTS = ("default", "d")
_PARSER = SandboxedEnvironment()


def _path(node: nodes.Node) -> str | None:
    """``contact.address.city`` for the expression that reads it, else None."""
    parts: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node.arg, nodes.Const):
            parts.append(str(node.arg.value))
        else:
            return None
        node = node.node
    if isinstance(node, nodes.Name) and node.name == "contact" and parts:
        return ".".join(["contact", *reversed(parts)])
    return None


def _paths(node: nodes.Node) -> frozenset[str]:
    found = {_path(n) for n in node.find_all((nodes.Getattr, nodes.Getitem))}
    if (own := _path(node)) is not None:
        found.add(own)
    return frozenset(p for p in found if p is not None)


def _covered(path: str, guarded: frozenset[str]) -> bool:
    return any(path == g or path.startswith(g + ".") for g in guarded)


def _printed(expr: nodes.Node, guarded: frozenset[str]) -> Iterator[str]:
    """Variables an output expression prints that may be empty and are not guarded."""
    if isinstance(expr, nodes.Filter) and expr.name in _DEFAULTS:
        return
    if isinstance(expr, nodes.Or):  # ``a or b``: ``a`` empty falls back to ``b``
        yield from _printed(expr.right, guarded)
        return
    if isinstance(expr, nodes.CondExpr):  # ``a if a else b``
        yield from _printed(expr.expr1, guarded | _paths(expr.test))
        if expr.expr2 is not None:
            yield from _printed(expr.expr2, guarded)
        return
    path = _path(expr)
    if path is not None:
        if path.split(".")[1] in EMPTYABLE and not _covered(path, guarded):
            yield path
        return
    for child in expr.iter_child_nodes():
        yield from _printed(child, guarded)


def _walk(node: nodes.Node, guarded: frozenset[str]) -> Iterator[str]:
    if isinstance(node, nodes.If):
        for child in node.body:
            yield from _walk(child, guarded | _paths(node.test))
        for child in (*node.elif_, *node.else_):
            yield from _walk(child, guarded)
        return
    if isinstance(node, nodes.Output):
        for expr in node.nodes:
            yield from _printed(expr, guarded)
        return
    for child in node.iter_child_nodes():
        yield from _walk(child, guarded)


@lru_cache(maxsize=2048)
def empty_variables(source: str) -> tuple[str, ...]:
    """The contact variables ``source`` prints unguarded, in order, each once."""
    try:
        ast = _PARSER.parse(source)
    except TemplateError:
        return ()
    return tuple(dict.fromkeys(_walk(ast, frozenset())))


def warnings_for(loc: list[str | int], source: str | None) -> list[TemplateWarning]:
    if source is None:
        return []
    return [
        TemplateWarning(
            loc=loc,
            variable=path,
            msg=f"{path} is empty for contacts without it; guard it with "
            f"`{{% if {path} %}}`, `{path} or …` or `| default(…)`",
        )
        for path in empty_variables(source)
    ]


def plan_warnings(reminder: str, steps: list[tuple[str | None, str]]) -> list[TemplateWarning]:
    """Warnings of a plan's reminder and of each step's ``(subject, body)`` templates."""
    found = warnings_for(["referral_reminder"], reminder)
    for i, (subject, body) in enumerate(steps):
        found += warnings_for(["steps", i, "subject_template"], subject)
        found += warnings_for(["steps", i, "body_template"], body)
    return found
