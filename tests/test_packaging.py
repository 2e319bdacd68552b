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


def _pinned(lock: str) -> set[str]:
    return {
        line.split("==", 1)[0]
        for line in (ROOT / lock).read_text().splitlines()
        if "==" in line and not line.startswith((" ", "#"))
    }


def test_the_image_lock_holds_production_dependencies_only() -> None:
    """The image installs ``requirements.lock``: no embedded PostgreSQL, no test tools."""
    production = _pinned("requirements.lock")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = config["project"]["optional-dependencies"]
    for requirement in extras["embedded"] + extras["dev"]:
        name = requirement.split("==", 1)[0].lower()
        assert name not in production, name
    for requirement in config["project"]["dependencies"]:
        name = requirement.split("==", 1)[0].split("[", 1)[0].lower()
        assert name in production, name
    assert {"pgserver", "psutil", "pytest", "schemathesis", "hypothesis"}.isdisjoint(production)
    assert {"pgserver", "pytest", "schemathesis"} <= _pinned("requirements-dev.lock")


def test_without_the_embedded_extra_a_missing_database_url_is_one_line(tmp_path: Path) -> None:
    """What the image does when DATABASE_URL is not set outside production mode."""
    import os
    import subprocess
    import sys

    script = (
        "import sys; sys.modules['pgserver'] = None\n"  # as if not installed
        "from app.cli import main; sys.exit(main(['migrate']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env["RAPPORT_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "rapport: error: DATABASE_URL is not set, and the embedded PostgreSQL is not "
        "installed (pip install 'rapport[embedded]')"
    ]
