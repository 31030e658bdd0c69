""".env.example lists every gateway setting (api/settings.py) with a comment, and nothing the gateway
does not read outside its "Not read by the gateway" part: the two never drift apart."""
from __future__ import annotations

import re
from pathlib import Path

from api.settings import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[3] / ".env.example"
OTHERS_MARKER = "# === Not read by the gateway"
# `NAME=value` or, for a rarely changed default, `# NAME=value`.
SETTING_LINE = re.compile(r"^(?:#\s?)?([A-Z][A-Z0-9_]*)=")


def _names(lines: list[str]) -> list[str]:
    return [match.group(1) for line in lines if (match := SETTING_LINE.match(line))]


def _parts() -> tuple[list[str], list[str]]:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    marker = next(i for i, line in enumerate(lines) if line.startswith(OTHERS_MARKER))
    return lines[:marker], lines[marker:]


def test_every_setting_is_in_env_example() -> None:
    gateway, _ = _parts()
    fields = {name.upper() for name in Settings.model_fields}
    listed = set(_names(gateway))
    assert sorted(fields - listed) == [], "settings missing from .env.example"
    assert sorted(listed - fields) == [], "names in the gateway part of .env.example that are not settings"


def test_the_other_part_holds_no_gateway_setting() -> None:
    _, others = _parts()
    fields = {name.upper() for name in Settings.model_fields}
    assert sorted(set(_names(others)) & fields) == []
    assert _names(others)  # the Rasa and deployment values are still documented there


def test_each_setting_is_grouped_and_explained() -> None:
    gateway, _ = _parts()
    group = None
    explained = False
    for line in gateway:
        if line.startswith("# --- "):
            group, explained = line, False
        elif line.startswith("#") and not SETTING_LINE.match(line):
            explained = True
        elif (match := SETTING_LINE.match(line)) is not None:
            assert group is not None, f"{match.group(1)} is not under a group heading"
            assert explained, f"{match.group(1)} has no comment saying what it does"
        elif not line.strip():
            explained = False
