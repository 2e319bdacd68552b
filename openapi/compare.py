"""Compare two OpenAPI documents, ignoring what a rename or a summary changes.

    .venv/bin/python openapi/compare.py OLD.json NEW.json

Component schemas are matched by their content: a schema whose name changed but whose
body is the same (after the same renames inside it) counts as renamed, not changed, and
``$ref``s are compared through that mapping. Operation summaries are left out. Whatever
else differs (a path, a parameter, a body, a response) is printed, one line each; the
exit status is 1 when something did.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REF = "#/components/schemas/"


def _strip(node: Any, names: dict[str, str]) -> Any:
    """``node`` with ``$ref`` names mapped through ``names`` and titles (names too) dropped."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "title" and isinstance(value, str):
                continue
            if key == "$ref" and isinstance(value, str) and value.startswith(REF):
                value = REF + names.get(value[len(REF) :], value[len(REF) :])
            out[key] = _strip(value, names)
        return out
    if isinstance(node, list):
        return [_strip(v, names) for v in node]
    return node


def _renames(old: dict[str, Any], new: dict[str, Any]) -> dict[str, str]:
    """Old component name -> new, for components that vanished and reappeared under
    another name with the same body. Repeated until no more pairs are found, since a
    schema's body names others."""
    names = {n: n for n in old if n in new}
    while True:
        found = False
        for o in old:
            if o in names:
                continue
            body = json.dumps(_strip(old[o], names), sort_keys=True)
            for n in new:
                if n in names.values():
                    continue
                if json.dumps(_strip(new[n], {}), sort_keys=True) == body:
                    names[o] = n
                    found = True
                    break
        if not found:
            return names


def _diff(path: str, a: Any, b: Any, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            if key not in b:
                out.append(f"removed {path}/{key}")
            elif key not in a:
                out.append(f"added   {path}/{key}")
            else:
                _diff(f"{path}/{key}", a[key], b[key], out)
    elif a != b:
        out.append(f"changed {path}: {json.dumps(a)[:120]} -> {json.dumps(b)[:120]}")


def compare(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    old_schemas = old.get("components", {}).get("schemas", {})
    new_schemas = new.get("components", {}).get("schemas", {})
    names = _renames(old_schemas, new_schemas)
    out: list[str] = []
    for doc, mapping in ((old, names), (new, {})):
        for operations in doc.get("paths", {}).values():
            for op in operations.values():
                if isinstance(op, dict):
                    op.pop("summary", None)
        for hooks in doc.get("webhooks", {}).values():
            for op in hooks.values():
                if isinstance(op, dict):
                    op.pop("summary", None)
        doc["components"]["schemas"] = {
            mapping.get(k, k): v for k, v in doc.get("components", {}).get("schemas", {}).items()
        }
    _diff("", _strip(old, names), _strip(new, {}), out)
    return {o: n for o, n in names.items() if o != n}, out


def main(argv: list[str]) -> int:
    old, new = (json.loads(Path(p).read_text()) for p in argv[1:3])
    renamed, differences = compare(old, new)
    for o, n in sorted(renamed.items()):
        print(f"renamed {o} -> {n}")
    for line in differences:
        print(line)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
