"""The house's rules, checked on the source: layers point one way, domains meet only at
their public faces, and no import cycle exists anywhere in ``app``.

The graph is read with ``ast`` from every ``import`` and ``from ... import`` in ``app``,
function-level ones included: a cycle that only a deferred import hides is still a cycle
a newcomer trips over. An import of ``pkg.sub`` is an edge to ``pkg.sub`` alone (Python
runs ``pkg/__init__`` first, but that is the package's own face, not a dependency).
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"
LAYERS = ("routers", "services", "models")
DOMAINS = ("analytics", "contacts", "platform", "referrals", "scores", "touches", "webhooks")
# Layers a module may import: a router calls services and reads models; a service reads
# models; a model imports no layer above it.
MAY_IMPORT = {"routers": {"routers", "services", "models"}, "services": {"services", "models"}}
MAY_IMPORT["models"] = {"models"}
WEB_FRAMEWORKS = ("fastapi", "starlette")
MAX_TOP_LEVEL_ENTRIES = 10
MAX_LINES = 350


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the module or package imported
    line: int


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in APP.rglob("*.py")}


def _imports() -> Iterator[Import]:
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(name, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    yield Import(name, sub if sub in MODULES else node.module, node.lineno)


IMPORTS = list(_imports())


def _place(module: str) -> tuple[str | None, str | None]:
    """``(layer, domain)`` of an app module; ``(None, None)`` for the app's own plumbing."""
    parts = module.split(".")
    if len(parts) >= 3 and parts[0] == "app" and parts[1] in LAYERS:
        return parts[1], parts[2]
    return None, None


def test_the_import_graph_of_app_has_no_cycle() -> None:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for imp in IMPORTS:
        if imp.target in MODULES and imp.target != imp.source:
            graph[imp.source].add(imp.target)
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as cycle:
        pytest.fail(f"import cycle: {' -> '.join(cycle.args[1])}")


def test_layers_point_one_way() -> None:
    wrong = []
    for imp in IMPORTS:
        layer, _ = _place(imp.source)
        target_layer, _ = _place(imp.target)
        if layer is not None and target_layer is not None and target_layer not in MAY_IMPORT[layer]:
            wrong.append(f"{imp.source}:{imp.line} imports {imp.target}")
        if layer in ("services", "models") and imp.target.split(".")[0] in WEB_FRAMEWORKS:
            wrong.append(f"{imp.source}:{imp.line} imports {imp.target} (HTTP is the routers')")
    assert wrong == []


def test_other_domains_are_reached_only_through_their_public_face() -> None:
    """Inside a domain anything goes; from outside it (another domain, or the app's own
    plumbing: main, cli, demo...) only ``app.<layer>.<domain>`` itself is imported."""
    wrong = []
    for imp in IMPORTS:
        layer, domain = _place(imp.target)
        if layer is None or imp.target == f"app.{layer}.{domain}":
            continue
        if _place(imp.source)[1] != domain:
            wrong.append(f"{imp.source}:{imp.line} imports {imp.target}")
    assert wrong == []


def test_each_layer_holds_the_same_domains_and_little_else() -> None:
    for layer in LAYERS:
        entries = {p.name for p in (APP / layer).iterdir() if p.name != "__pycache__"}
        packages = {p for p in entries if (APP / layer / p / "__init__.py").exists()}
        assert packages == set(DOMAINS), layer
        assert len(entries) <= MAX_TOP_LEVEL_ENTRIES, (layer, sorted(entries))


def test_every_package_says_what_it_is() -> None:
    for init in APP.rglob("__init__.py"):
        if init.parent == APP:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc is not None, f"{init} needs a docstring saying what the package is"
        assert len(doc) > 40, f"{init}: say what the package is and which names are its face"


def test_no_module_repeats_its_package_name_as_a_prefix() -> None:
    wrong = [
        str(p.relative_to(APP))
        for p in APP.rglob("*.py")
        if p.name != "__init__.py" and p.stem.startswith(p.parent.name.rstrip("s") + "_")
    ]
    assert wrong == []


def test_modules_outside_platform_stay_small() -> None:
    """A file past ~350 lines holds two ideas; platform (the shared plumbing) may run longer."""
    long = {
        str(p.relative_to(APP)): n
        for p in APP.rglob("*.py")
        if "platform" not in p.parts
        and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
