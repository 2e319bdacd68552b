"""The README's configuration table is the operator's reference: it lists every setting."""

from __future__ import annotations

import re
from pathlib import Path

from app.config import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_is_documented_and_every_documented_one_exists() -> None:
    expected = {
        "DATABASE_URL" if name == "database_url" else f"RAPPORT_{name.upper()}"
        for name in Settings.model_fields
    }
    documented = set(re.findall(r"^\| `((?:RAPPORT_)?[A-Z_]+)` \|", README, re.M))
    assert documented == expected


def test_the_quick_start_is_the_two_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```sh\n(.*?)```", quick_start, re.S)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]
