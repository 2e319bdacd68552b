"""The ``rapport`` command, one module per command group: ``serve``, ``migrate`` and
``openapi`` (``database``, ``serve``), ``workspaces`` and ``keys`` (``tenants``), and
``import`` (``imports``). Each module adds its parser; ``main`` dispatches.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app.cli import database, imports, serve, tenants


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rapport",
        description="Rapport: serve the API, migrate, print the spec, manage tenants, import.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve.add_parsers(sub)
    database.add_parsers(sub)
    tenants.add_parsers(sub)
    imports.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
