"""Vietnam's administrative units as data (data/places/units.yml): since 1 July 2025, provinces and
communes only. Names are compared folded (no diacritics, no case), with or without "Thành phố",
"Tỉnh", "Phường", "Xã", "Đặc khu"; a province that joined another one is read as the one it joined."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

UNITS_PATH = Path(__file__).resolve().parents[2] / "data" / "places" / "units.yml"
_PROVINCE_PREFIXES = ("thanh pho ", "tinh ", "tp ")
_COMMUNE_PREFIXES = ("phuong ", "xa ", "dac khu ")


@dataclass(frozen=True)
class Province:
    name: str
    kind: str
    former: tuple[str, ...] = ()
    communes: tuple[str, ...] = field(default=(), repr=False)


def _strip(folded: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if folded.startswith(prefix):
            return folded[len(prefix):]
    return folded


class Units:
    def __init__(self, provinces: list[Province], fold: Callable[[str], str]) -> None:
        self.fold = fold
        self.provinces = provinces
        self._by_name: dict[str, Province] = {}
        for province in provinces:
            for name in (province.name, *province.former):
                self._by_name[_strip(fold(name), _PROVINCE_PREFIXES)] = province

    def province(self, name: str) -> Province | None:
        """The current province for a current or former name ("Quảng Nam" gives Đà Nẵng)."""
        return self._by_name.get(_strip(self.fold(name), _PROVINCE_PREFIXES))

    def is_former(self, name: str) -> bool:
        province = self.province(name)
        key = _strip(self.fold(name), _PROVINCE_PREFIXES)
        return province is not None and key != _strip(self.fold(province.name), _PROVINCE_PREFIXES)

    def commune(self, province: Province, name: str) -> str | None:
        """The commune's official name ("Phường Tam Kỳ") for "Tam Kỳ", "phuong tam ky"…; None if unknown.

        A bare name that is both a ward and a commune of the province is ambiguous: None.
        """
        key = self.fold(name)
        exact = [c for c in province.communes if self.fold(c) == key]
        if exact:
            return exact[0]
        bare = [c for c in province.communes if _strip(self.fold(c), _COMMUNE_PREFIXES) == key]
        return bare[0] if len(bare) == 1 else None

    def commune_key(self, commune: str) -> str:
        """How people name it: "Phường Tam Kỳ" is "tam ki"."""
        return _strip(self.fold(commune), _COMMUNE_PREFIXES)

    def province_keys(self, province: Province) -> list[str]:
        return [_strip(self.fold(n), _PROVINCE_PREFIXES) for n in (province.name, *province.former)]


_shared_fold: Callable[[str], str] | None
try:  # the shared Vietnamese folding (same tokenisation as the NLU) when available
    from vietnlu.text import fold as _shared_fold
except ImportError:  # pragma: no cover - vietnlu ships with the repository
    _shared_fold = None


def fold_place_name(text: str) -> str:
    """Lowercase, no diacritics, punctuation dropped: "Tam Kỳ" and "tam ky" compare equal."""
    if _shared_fold is not None:
        return _shared_fold(text)
    stripped = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    stripped = "".join(ch for ch in stripped if unicodedata.category(ch) != "Mn")
    return " ".join(re.findall(r"\w+", stripped)).replace("y", "i")


@lru_cache(maxsize=4)
def load_units(path: Path = UNITS_PATH, fold: Callable[[str], str] | None = None) -> Units:
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    provinces = [Province(name=item["name"], kind=item.get("kind", "tỉnh"), former=tuple(item.get("former") or ()),
                          communes=tuple(item.get("communes") or ())) for item in raw.get("provinces") or []]
    return Units(provinces, fold or fold_place_name)
