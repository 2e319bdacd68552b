"""Browser origins allowed to call the API (CORS): exact origins, never patterns.

Plain functions with no heavy imports: the settings check ``RAPPORT_CORS_ORIGINS`` with
them while the CLI starts, before the models (and SQLAlchemy) are loaded.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_HOST = re.compile(r"^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$")


def check_origin(value: str) -> str:
    """``https://app.example.com`` or ``http://localhost:3000``: a scheme, a host and an
    optional port, as a browser sends it in ``Origin`` (lower case, no path, no slash)."""
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not _HOST.match(parts.hostname)
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
        or value != value.strip().lower()
        or value != f"{parts.scheme}://{parts.netloc}"
    ):
        raise ValueError(
            f"{value!r} is not an origin: write it as a browser sends it, scheme, host and "
            "port only, e.g. 'https://app.example.com' or 'http://localhost:3000'"
        )
    try:
        parts.port  # noqa: B018 (raises on a port out of range)
    except ValueError as exc:
        raise ValueError(f"{value!r} has an invalid port") from exc
    return value


def parse_origins(value: str) -> tuple[str, ...]:
    """``RAPPORT_CORS_ORIGINS``: comma-separated exact origins, or ``*``."""
    found = tuple(o.strip() for o in value.split(",") if o.strip())
    return tuple(o if o == "*" else check_origin(o) for o in found)
