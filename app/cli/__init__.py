"""The ``rapport`` command, one module per command group: ``serve`` (``serve``),
``migrate``, ``openapi`` and ``db status|stop`` (``database``), ``healthcheck``
(``probe``), ``workspaces`` and ``keys`` (``tenants``), and ``import`` (``imports``).
Each module adds its parser; ``main`` dispatches, with the settings' JSON logging on
stderr, and turns an expected failure into one line and an exit code
(``app.cli.failures``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from app.cli import database, imports, probe, serve, tenants
from app.cli.failures import CliError, report, settings_error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rapport",
        description="Rapport: serve the API, migrate, print the spec, manage tenants, import.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve.add_parsers(sub)
    database.add_parsers(sub)
    probe.add_parsers(sub)
    tenants.add_parsers(sub)
    imports.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command != "healthcheck":  # a probe prints nothing but its verdict
            from app.config import get_settings
            from app.logging_setup import configure_logging

            level = get_settings().log_level
            try:
                configure_logging(level)
            except ValueError:
                raise CliError(
                    f"invalid settings: RAPPORT_LOG_LEVEL: unknown level {level!r}"
                ) from None
        result: int = args.func(args)
    except ValidationError as exc:
        return report(settings_error(exc))
    except CliError as exc:
        return report(exc)
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
