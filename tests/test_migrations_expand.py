"""Every migration from now on is safe to run under the version before it.

Upgrades go: ``rapport migrate``, then roll the replicas (README "Deploying"), so for a
while the previous version serves on the new schema. A migration may therefore add
(tables, nullable columns or columns with a default, indexes built concurrently or on
small tables, functions) but not take away or change what the previous version reads
and writes: no dropped or renamed tables and columns, no changed types, no new NOT NULL
without a default. Taking away is a later "contract" migration, shipped once no running
version uses the thing; it says so in its docstring (``Contract:``, naming the release
that stopped using it).

Migrations up to ``0007w`` predate the rule, and three would not pass it: ``0004n`` (a
NOT NULL column without a default, filled in place), ``0005s`` (columns dropped) and
``0006i`` (the import queue's old table dropped).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

VERSIONS = Path(__file__).resolve().parent.parent / "alembic" / "versions"
BEFORE_THE_RULE = {
    "0001",
    "0002",
    "0003c",
    "0003r",
    "0003s",
    "0003t",
    "0003w",
    "0004c",
    "0004i",
    "0004n",
    "0004q",
    "0005s",
    "0006i",
    "0007w",
}
TAKING_AWAY = {"drop_table", "drop_column", "rename_table", "drop_constraint"}
RISKY_SQL = ("DROP TABLE", "DROP COLUMN", "RENAME", "SET NOT NULL", " TYPE ")


def _upgrade_calls(tree: ast.Module) -> list[tuple[str, ast.Call]]:
    upgrade = next(
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "upgrade"
    )
    calls = []
    for node in ast.walk(upgrade):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            calls.append((node.func.attr, node))
    return calls


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    doc = ast.get_docstring(tree) or ""
    if "Contract:" in doc:
        return []
    found = []
    for name, call in _upgrade_calls(tree):
        keywords = {k.arg: k.value for k in call.keywords}
        if name in TAKING_AWAY:
            found.append(f"op.{name}")
        elif name == "alter_column":
            if "type_" in keywords or "new_column_name" in keywords:
                found.append("op.alter_column changing a type or a name")
            nullable = keywords.get("nullable")
            if isinstance(nullable, ast.Constant) and nullable.value is False:
                found.append("op.alter_column(nullable=False)")
        elif name == "add_column":
            column = call.args[1] if len(call.args) > 1 else None
            if isinstance(column, ast.Call):
                kw = {k.arg: k.value for k in column.keywords}
                nullable = kw.get("nullable")
                not_null = isinstance(nullable, ast.Constant) and nullable.value is False
                if not_null and "server_default" not in kw:
                    found.append("op.add_column NOT NULL without a server default")
        elif name == "execute" and call.args and isinstance(call.args[0], ast.Constant):
            sql = str(call.args[0].value).upper()
            found.extend(f"SQL {word.strip()}" for word in RISKY_SQL if word in sql)
    return found


def _revision(path: Path) -> str:
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == "revision" for t in targets):
                assert isinstance(node.value, ast.Constant)
                return str(node.value.value)
    raise AssertionError(f"{path.name}: no revision")


MIGRATIONS = sorted(VERSIONS.glob("*.py"))


@pytest.mark.parametrize("path", MIGRATIONS, ids=[p.stem for p in MIGRATIONS])
def test_migrations_after_the_rule_only_add(path: Path) -> None:
    if _revision(path) in BEFORE_THE_RULE:
        return
    assert _problems(path) == [], (
        f"{path.name} takes away or changes what the previous version uses; make it "
        "additive, or a later contract migration whose docstring says 'Contract:'"
    )


@pytest.mark.parametrize(
    ("revision", "problem"),
    [
        ("0004n", "op.add_column NOT NULL without a server default"),
        ("0005s", "op.drop_column"),
        ("0006i", "op.drop_table"),
    ],
)
def test_the_rule_catches_what_earlier_migrations_did(revision: str, problem: str) -> None:
    (path,) = VERSIONS.glob(f"*_{revision}_*.py")
    assert problem in _problems(path)
