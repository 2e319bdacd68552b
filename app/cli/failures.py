"""How a command that cannot go on says so: one line on stderr and an exit code.

An operator reading a container's log wants the reason, not a traceback: a missing
``DATABASE_URL`` printed 21 lines of traceback, a wrong password 177. Expected failures
are raised as ``CliError`` (or are pydantic's ``ValidationError`` of the settings) and
``app.cli.main`` prints them as one line:

- ``USAGE`` (2): the command cannot work as configured (bad settings, credentials the
  database refuses, a database that does not exist, a port another process holds);
  restarting will not help;
- ``UNAVAILABLE`` (1): the database did not come up within ``RAPPORT_DB_WAIT_SECONDS``;
  an orchestrator's restart may.
"""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

from pydantic import ValidationError

USAGE = 2
UNAVAILABLE = 1


class CliError(Exception):
    """A failure the command explains in one line, exiting with ``code``."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code


def where(url: str) -> str:
    """The server a URL names, for messages: never its password."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    host = parts.hostname or "local socket"
    port = f":{parts.port}" if parts.port else ""
    return f"{user}{host}{port}{parts.path}"


def settings_error(exc: ValidationError) -> CliError:
    """Every refused setting in one line, named as the environment spells it."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"])
        if where and not where.isupper():  # a field's name, not the alias it came by
            where = f"RAPPORT_{where.upper()}"
        name = f"{where}: " if where else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{name}{message}")
    return CliError("invalid settings: " + "; ".join(parts))


def report(error: CliError) -> int:
    """Print ``error`` as one line on stderr; its exit code."""
    message = " ".join(str(error).split())  # whatever it quotes stays on one line
    print(f"rapport: error: {message}", file=sys.stderr, flush=True)
    return error.code
