"""Small-count suppression for published figures.

A count from 1 to 4 is shown as "<5" (primary). In a breakdown whose total is shown, one suppressed
cell alone could be recovered by subtraction, so the smallest other non-zero cell is hidden too and
shown as "*" (secondary; it is 5 or more, which is why it is not "<5"). A total under 5 is "<5".
Zero stays 0: it reveals no person.
"""
from __future__ import annotations

from collections.abc import Mapping

THRESHOLD = 5
SMALL = "<5"
HIDDEN = "*"

Shown = int | str


def count(value: int) -> Shown:
    return SMALL if 0 < value < THRESHOLD else value


def breakdown(cells: Mapping[str, int]) -> dict[str, Shown]:
    """The cells as published, with primary and secondary suppression."""
    shown: dict[str, Shown] = {key: count(value) for key, value in cells.items()}
    small = [key for key, value in cells.items() if 0 < value < THRESHOLD]
    total = sum(cells.values())
    if len(small) == 1 and total >= THRESHOLD:
        others = sorted((value, key) for key, value in cells.items() if value >= THRESHOLD)
        if others:
            shown[others[0][1]] = HIDDEN
    return shown


def with_total(cells: Mapping[str, int]) -> dict[str, object]:
    return {"total": count(sum(cells.values())), "cells": breakdown(cells)}
