"""The help referral directory: national numbers shipped, local entries added by staff (CSV).

Places are the current administrative units (data/places/units.yml, see api/content/places.py):
a province and a commune, no district. A former province ("Quảng Nam") is stored as the one it joined
("Đà Nẵng") and still finds its entries."""
from __future__ import annotations

import csv
import io
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.content.models import DIRECTORY_KINDS, DirectoryEntry
from api.content.places import fold_place_name as fold
from api.content.places import load_units
from api.messaging.texts import UserText

# Only the national numbers ship with the product: local entries come from the staff who know them.
NATIONAL_ENTRIES: tuple[dict[str, str], ...] = (
    {"name": "Tổng đài quốc gia bảo vệ trẻ em", "kind": "child_protection_officer", "phone": "111",
     "hours": "cả ngày lẫn đêm, miễn phí"},
    {"name": "Công an (khẩn cấp)", "kind": "police", "phone": "113", "hours": "cả ngày lẫn đêm"},
    {"name": "Cấp cứu y tế", "kind": "health", "phone": "115", "hours": "cả ngày lẫn đêm"},
)
# Around the local help list (edited in the content console); the entries come from the directory.
HELP_LIST_INTRO = UserText("utter_help_list_intro", "Đây là những nơi có thể giúp bạn:")
HELP_LIST_OUTRO = UserText("utter_help_list_outro",
                           "Nếu bạn đang gặp nguy hiểm, hãy gọi ngay 113, hoặc 111 (miễn phí, cả ngày lẫn đêm).")
CSV_FIELDS = ("name", "kind", "province", "commune", "phone", "hours")
# Spreadsheets are made and read in Vietnamese: the export writes these headers, the import reads
# them (folded, so with or without diacritics) as well as the English codes above.
CSV_HEADERS_VI = {"name": "Tên", "kind": "Loại", "province": "Tỉnh/thành", "commune": "Xã/phường",
                  "phone": "Điện thoại", "hours": "Giờ làm việc"}
_HEADER_ALIASES = {
    "name": ("ten", "ten noi", "ten don vi", "ten co quan"),
    "kind": ("loai", "loai hinh", "loai noi"),
    "province": ("tinh thanh", "tinh", "thanh pho", "tinh thanh pho"),
    "commune": ("xa phuong", "xa", "phuong", "xa phuong dac khu"),
    "phone": ("dien thoai", "so dien thoai", "sdt"),
    "hours": ("gio", "gio lam viec", "thoi gian"),
    "district": ("huyen", "quan huyen", "quan"),
}
KIND_LABELS = {
    "child_protection_officer": "cán bộ bảo vệ trẻ em",
    "police": "công an",
    "health": "y tế",
    "shelter": "nhà tạm lánh",
    "school_counselling": "tư vấn học đường",
}
# Ways of asking where help is (folded). A place alone is not enough: "ở Tam Kỳ ..." may be a story.
_HELP_QUESTION_CUES = ("cho nao", "o dau", "noi nao", "dau co", "dia chi", "so dien thoai", "sdt",
                       "lien he", "tim ai", "ai giup", "gan nha", "gan em", "gan day")
_HELP_WORDS = ("giup", "ho tro", "tro giup", "bao ve", "tu van", "cuu", "bao cao", "to cao", "lien he")


class DirectoryError(ValueError):
    pass


def place_key(entry: DirectoryEntry) -> str:
    """The names people use for the entry's place: the province (and the provinces it took in), the commune."""

    units = load_units()
    keys: list[str] = []
    province_name, district, commune = entry.province or "", entry.district or "", entry.commune or ""
    province = units.province(province_name) if province_name.strip() else None
    if province is not None:
        keys += units.province_keys(province)
    elif province_name.strip():
        keys.append(fold(province_name))
    if district.strip():  # an entry stored before July 2025's reform
        keys.append(fold(district))
    if commune.strip():
        keys.append(units.commune_key(commune))
    return "|".join(dict.fromkeys(k for k in keys if k))


def _current_place(values: dict[str, str], where: str) -> None:
    """Province and commune checked against the current units and written as they are named now."""

    units = load_units()
    province = units.province(values["province"])
    if province is None:
        raise DirectoryError(f"Không có tỉnh/thành \"{values['province']}\"{where} (34 tỉnh, thành từ 1/7/2025). / "
                             f"Unknown province{where}.")
    values["province"] = province.name
    if values["commune"]:
        commune = units.commune(province, values["commune"])
        if commune is None:
            raise DirectoryError(f"Không có xã/phường \"{values['commune']}\" ở {province.name}{where}: ghi tên xã, "
                                 f"phường mới từ 1/7/2025 (ví dụ \"Phường ...\"). / Unknown commune{where}.")
        values["commune"] = commune


def validate_entry(data: dict[str, Any], line: int | None = None) -> dict[str, str]:
    where = f" (dòng {line} / line {line})" if line else ""
    if str(data.get("district") or "").strip():
        raise DirectoryError(f"Từ 1/7/2025 không còn cấp huyện: bỏ cột district, ghi xã/phường mới{where}. / "
                             f"Districts no longer exist since July 2025: give the commune{where}.")
    values = {field: str(data.get(field) or "").strip() for field in CSV_FIELDS}
    if not values["name"] or not values["phone"]:
        raise DirectoryError(f"Cần có tên và số điện thoại{where}. / Name and phone are required{where}.")
    if values["kind"] not in DIRECTORY_KINDS:
        raise DirectoryError(f"Loại \"{values['kind']}\" không hợp lệ{where}; dùng một trong: "
                             f"{', '.join(KIND_LABELS[k].capitalize() for k in DIRECTORY_KINDS)}. / "
                             f"Unknown kind{where}.")
    if not re.fullmatch(r"[0-9 +().\-]{3,40}", values["phone"]):
        raise DirectoryError(f"Số điện thoại không hợp lệ{where}. / Invalid phone number{where}.")
    if not values["province"]:
        raise DirectoryError(f"Mục địa phương cần có tỉnh/thành{where}. / A local entry needs a province{where}.")
    _current_place(values, where)
    return values


def add_entry(session: Session, values: dict[str, str]) -> DirectoryEntry:
    entry = DirectoryEntry(**values, national=False)
    entry.place_key = place_key(entry)
    session.add(entry)
    return entry


def entry_key(values: dict[str, Any] | DirectoryEntry) -> str:
    """What makes two rows the same place of help: its name and its place (province, commune), folded.

    The phone and the hours are what staff correct, so a row with a new number updates the entry."""
    get = values.get if isinstance(values, dict) else lambda field: getattr(values, field)
    return "|".join(fold(str(get(field) or "")) for field in ("name", "province", "commune"))


def local_entries_by_key(session: Session) -> dict[str, DirectoryEntry]:
    entries = session.scalars(select(DirectoryEntry).where(DirectoryEntry.national.is_(False))
                              .order_by(DirectoryEntry.id))
    return {entry_key(e): e for e in entries}


def update_entry(entry: DirectoryEntry, values: dict[str, str]) -> bool:
    """Write the checked values over an entry; False when nothing changed."""
    changed = any(str(getattr(entry, field) or "") != values[field] for field in CSV_FIELDS) or bool(entry.district)
    for field in CSV_FIELDS:
        setattr(entry, field, values[field])
    entry.district = ""  # the row names today's commune: a stored district is out of date
    entry.place_key = place_key(entry)
    return changed


def import_rows(session: Session, rows: list[dict[str, str]]) -> dict[str, int]:
    """Add new entries and update the ones already there (same name and place): importing the same
    file twice changes nothing."""
    existing = local_entries_by_key(session)
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    for values in rows:
        key = entry_key(values)
        entry = existing.get(key)
        if entry is None:
            existing[key] = add_entry(session, values)
            counts["added"] += 1
        else:
            counts["updated" if update_entry(entry, values) else "unchanged"] += 1
    return counts


def seed_national(session: Session) -> int:
    """Add the national numbers if missing (idempotent)."""
    have = set(session.scalars(select(DirectoryEntry.phone).where(DirectoryEntry.national.is_(True))))
    added = 0
    for item in NATIONAL_ENTRIES:
        if item["phone"] not in have:
            session.add(DirectoryEntry(**item, national=True, place_key=""))
            added += 1
    return added


def _ordered(entries: list[DirectoryEntry]) -> list[DirectoryEntry]:
    """111 always first, then the other national numbers, then local entries by name."""
    return sorted(entries, key=lambda e: (e.phone != "111", not e.national, e.phone if e.national else fold(e.name)))


def all_entries(session: Session) -> list[DirectoryEntry]:
    return _ordered(list(session.scalars(select(DirectoryEntry))))


def _contains_phrase(haystack: str, phrase: str) -> bool:
    return bool(phrase) and f" {phrase} " in f" {haystack} "


def places_in(folded_text: str, entry: DirectoryEntry) -> bool:
    return any(_contains_phrase(folded_text, place) for place in entry.place_key.split("|") if place)


def search(session: Session, query: str) -> list[DirectoryEntry]:
    """Entries whose name, kind or place matches every word of the query; 111 always first."""
    words = fold(query).split()
    entries = list(session.scalars(select(DirectoryEntry)))
    if not words:
        return _ordered(entries)
    hotline = [e for e in entries if e.phone == "111"]
    matches = []
    for entry in entries:
        haystack = " ".join([fold(entry.name), fold(KIND_LABELS.get(entry.kind, "")), entry.kind,
                             entry.place_key.replace("|", " "), entry.phone])
        if all(_contains_phrase(haystack, w) or w in haystack.split() for w in words):
            matches.append(entry)
    return _ordered(list({e.id: e for e in hotline + matches}.values()))


def asks_for_help_nearby(folded_text: str) -> bool:
    padded = f" {folded_text} "
    return (any(f" {cue} " in padded for cue in _HELP_QUESTION_CUES)
            and any(f" {word} " in padded for word in _HELP_WORDS))


def local_help(session: Session, text: str) -> list[DirectoryEntry] | None:
    """For "ở Tam Kỳ có chỗ nào giúp em không": 111 first, then the entries for the place named.

    None when the message does not ask where to find help or names no place in the directory.
    """
    folded = fold(text)
    if not asks_for_help_nearby(folded):
        return None
    entries = list(session.scalars(select(DirectoryEntry)))
    local = [e for e in entries if not e.national and places_in(folded, e)]
    if not local:
        return None
    # The most specific match first: the commune, then the province.

    units = load_units()
    hotline = [e for e in entries if e.phone == "111"]
    return hotline + sorted(local, key=lambda e: -sum(
        _contains_phrase(folded, key) for key in (units.commune_key(e.commune or ""), fold(e.district or "")) if key))


def help_reply(entries: list[DirectoryEntry], intro: str = HELP_LIST_INTRO.default,
               outro: str = HELP_LIST_OUTRO.default) -> dict[str, Any]:
    """The local help list: the intro line, one line per entry, the outro with the emergency numbers."""
    lines = [intro]
    for entry in entries:
        place = ", ".join(p for p in (entry.commune, entry.province) if p)
        hours = f" ({entry.hours})" if entry.hours else ""
        lines.append(f"• {entry.name}{' – ' + place if place else ''}: {entry.phone}{hours}")
    lines.append(outro)
    return {"text": "\n".join(lines)}


def entry_out(entry: DirectoryEntry) -> dict[str, Any]:
    return {"id": entry.id, "name": entry.name, "kind": entry.kind, "province": entry.province,
            "commune": entry.commune, "phone": entry.phone, "hours": entry.hours, "national": entry.national}


def export_csv(entries: list[DirectoryEntry]) -> str:
    """Vietnamese headers and kind names, with a byte order mark so that Excel reads the accents."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([CSV_HEADERS_VI[field] for field in CSV_FIELDS])
    for entry in entries:
        row = {field: str(getattr(entry, field) or "") for field in CSV_FIELDS}
        row["kind"] = KIND_LABELS.get(row["kind"], row["kind"]).capitalize()
        writer.writerow([row[field] for field in CSV_FIELDS])
    return "\ufeff" + buffer.getvalue()


def _column(header: str) -> str:
    """The field a column header names: an English code or a Vietnamese header, with or without accents."""
    folded = fold(header)
    if header.strip() in CSV_FIELDS or header.strip() == "district":
        return header.strip()
    return next((field for field, aliases in _HEADER_ALIASES.items() if folded in aliases), header.strip())


def kind_code(value: str) -> str:
    """A kind given as its code or its Vietnamese name ("Công an", "cong an") → the code."""
    if value in DIRECTORY_KINDS:
        return value
    folded = fold(value)
    return next((code for code, label in KIND_LABELS.items() if fold(label) == folded), value)


def parse_csv(content: str) -> list[dict[str, str]]:
    """All rows checked before any is stored: one bad row rejects the file with its line number."""
    sample = content.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(sample), dialect=_dialect(sample))
    header = [_column(h) for h in next(reader, [])]
    missing = [f for f in ("name", "kind", "province", "phone") if f not in header]
    if missing:
        names = ", ".join(f"{CSV_HEADERS_VI[f]} ({f})" for f in missing)
        raise DirectoryError(f"Thiếu cột: {names}. / Missing columns: {', '.join(missing)}.")
    rows = []
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        row = dict(zip(header, cells, strict=False))
        if row.get("phone", "").strip() in {e["phone"] for e in NATIONAL_ENTRIES} and not row.get("province"):
            continue  # the national numbers are built in
        row["kind"] = kind_code(str(row.get("kind") or "").strip())
        rows.append(validate_entry(row, line))
    return rows


def _dialect(sample: str) -> type[csv.Dialect]:
    """Excel set to Vietnamese saves with ";" between cells: accept it as well as ","."""
    first = sample.split("\n", 1)[0]
    return csv.excel if first.count(",") >= first.count(";") else _Semicolon


class _Semicolon(csv.excel):
    delimiter = ";"
