"""The import contracts in pyproject.toml hold: layers (channels > features > messaging > db), channels
independent of each other, and no import cycle between sibling packages or modules."""
from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept(monkeypatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    assert lint_imports(config_filename=str(REPO_ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0
