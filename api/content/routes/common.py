"""Helpers shared by the content routes."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def repo_path(settings: Any, value: str) -> Path:
    """A configured path, relative to the repository unless absolute."""
    path = Path(value)
    return path if path.is_absolute() else Path(settings.repo_root) / path
