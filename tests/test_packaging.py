"""What the image installs: the package must carry every file it reads at run time.

The container installs the project as a wheel (not from the checkout), so a data file
that setuptools is not told about is silently left out and the service fails at start-up.
"""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_non_python_file_under_app_is_declared_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs: list[str] = config["tool"]["setuptools"]["package-data"]["app"]
    app = ROOT / "app"
    data_files = [
        p.relative_to(app).as_posix()
        for p in app.rglob("*")
        if p.is_file() and p.suffix not in {".py", ".pyc"} and "__pycache__" not in p.parts
    ]
    assert data_files, "expected the built-in plans at least"
    undeclared = [f for f in data_files if not any(fnmatch(f, g) for g in globs)]
    assert undeclared == []
