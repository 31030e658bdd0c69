"""The case record's fields as data: seeded from seed/record.yml into `casework_record_fields`,
edited by admins, served to the console and used to check every record saved.

Places are the current units (data/places/units.yml, api/content/places.py): a `province` field
lists the provinces of the area served (its options; empty = all 34), a `commune` field the communes
and wards of the province chosen in the same record."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.casework.common import new_seed_items
from api.casework.models import RecordField
from api.content.places import Province, load_units

SEED_PATH = Path(__file__).resolve().parent / "seed" / "record.yml"
FIELD_KINDS = ("choice", "multi", "text", "province", "commune")
TEXT_LIMIT = 2000
MAX_OPTIONS = 200


class RecordError(ValueError):
    """A record or a field definition that does not fit the schema (answered with 422)."""


def seed_fields(session: Session, path: Path = SEED_PATH) -> int:
    """Add the seed file's fields that are not in the table yet; never overwrite an admin's edit."""
    added = 0
    for position, item in new_seed_items(session, path, "fields", RecordField.key):
        session.add(RecordField(**check_definition({"position": position, **item})))
        added += 1
    return added


def check_definition(item: dict[str, Any]) -> dict[str, Any]:
    """A field definition from the seed file or an admin, normalised; RecordError when malformed."""
    key = str(item.get("key") or "").strip()
    kind = str(item.get("kind") or "")
    if not key or len(key) > 40 or not key.replace("_", "").isalnum():
        raise RecordError("Mã trường chỉ gồm chữ, số và \"_\" (tối đa 40). / A field key is letters, digits and _.")
    if kind not in FIELD_KINDS:
        raise RecordError(f"Loại trường phải là một trong {', '.join(FIELD_KINDS)}. / Unknown field kind.")
    raw_options = item.get("options") or []
    if not isinstance(raw_options, list) or len(raw_options) > MAX_OPTIONS:
        raise RecordError(f"Tối đa {MAX_OPTIONS} lựa chọn. / At most {MAX_OPTIONS} options.")
    options = [_check_option(option, kind) for option in raw_options]
    values = [option["value"] for option in options]
    if len(set(values)) != len(values):
        raise RecordError("Các lựa chọn của một trường không được trùng mã. / Option values must be unique.")
    for option in options:
        if option.get("parent") and option["parent"] not in values:
            raise RecordError(f"Lựa chọn cha \"{option['parent']}\" không có. / Unknown parent option.")
    if kind in ("choice", "multi") and not options:
        raise RecordError("Trường chọn cần ít nhất một lựa chọn. / A choice field needs options.")
    return {"key": key, "kind": kind, "label": str(item.get("label") or key).strip()[:120],
            "help": str(item.get("help") or "").strip()[:300], "options": options,
            "position": int(item.get("position") or 0), "active": bool(item.get("active", True))}


def _check_option(option: Any, kind: str) -> dict[str, str]:
    if kind == "province":  # the area served: current province names ("Quảng Nam" is read as Đà Nẵng)
        name = option.get("value") if isinstance(option, dict) else option
        province = load_units().province(str(name or ""))
        if province is None:
            raise RecordError(f"Không có tỉnh/thành \"{name}\" (34 tỉnh, thành từ 1/7/2025). / Unknown province.")
        return {"value": province.name, "label": f"{province.kind.capitalize()} {province.name}"}
    if kind in ("text", "commune"):
        raise RecordError("Trường văn bản hoặc xã/phường không có danh sách lựa chọn. / "
                          "Text and commune fields take no options.")
    if not isinstance(option, dict) or not str(option.get("value") or "").strip():
        raise RecordError("Mỗi lựa chọn cần có mã (value) và nhãn (label). / Each option needs a value and a label.")
    value = str(option["value"]).strip()[:60]
    cleaned = {"value": value, "label": str(option.get("label") or value).strip()[:120]}
    if option.get("parent"):
        cleaned["parent"] = str(option["parent"]).strip()
    return cleaned


def active_fields(session: Session) -> list[RecordField]:
    return list(session.scalars(select(RecordField).where(RecordField.active.is_(True))
                                .order_by(RecordField.position, RecordField.id)))


def served_provinces(fields: list[RecordField]) -> list[Province]:
    """The provinces of the area served: the province field's options, or every province."""
    units = load_units()
    names = [o["value"] for f in fields if f.kind == "province" for o in f.options]
    chosen = [units.province(name) for name in names]
    return [p for p in chosen if p is not None] or list(units.provinces)


def field_out(field: RecordField, provinces: list[Province]) -> dict[str, Any]:
    options = field.options
    if field.kind == "province":
        options = [{"value": p.name, "label": f"{p.kind.capitalize()} {p.name}", "communes": list(p.communes)}
                   for p in provinces]
    return {"key": field.key, "label": field.label, "kind": field.kind, "help": field.help,
            "options": options, "position": field.position, "active": field.active}


def schema_out(session: Session) -> dict[str, Any]:
    fields = active_fields(session)
    provinces = served_provinces(fields)
    return {"fields": [field_out(f, provinces) for f in fields]}


def validate_values(fields: list[RecordField], values: dict[str, Any],
                    stored: dict[str, Any]) -> dict[str, Any]:
    """The record's values checked against the fields; empty values dropped. A value the stored
    record already holds stays valid even if an admin has since retired its option (autosave of
    the other fields must never fail, or lose it)."""
    by_key = {f.key: f for f in fields}
    unknown = sorted(set(values) - set(by_key) - set(stored))
    if unknown:
        raise RecordError(f"Trường không có trong hồ sơ: {', '.join(unknown)}. / Unknown fields.")
    clean: dict[str, Any] = {}
    provinces = served_provinces(fields)
    province_key = next((f.key for f in fields if f.kind == "province"), "province")
    for key, value in values.items():
        if value in (None, "", []):
            continue
        field = by_key.get(key)
        if field is None or value == stored.get(key):
            clean[key] = value  # kept as stored
            continue
        clean[key] = _check_value(field, value, values, provinces, province_key)
    return clean


def _check_value(field: RecordField, value: Any, values: dict[str, Any], provinces: list[Province],
                 province_key: str) -> Any:
    where = f" ({field.label})"
    if field.kind == "text":
        if not isinstance(value, str) or len(value) > TEXT_LIMIT:
            raise RecordError(f"Văn bản tối đa {TEXT_LIMIT} ký tự{where}. / Text up to {TEXT_LIMIT} characters.")
        return value.strip()
    if field.kind == "multi":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RecordError(f"Cần một danh sách lựa chọn{where}. / A list of options is expected.")
        allowed = {o["value"] for o in field.options}
        wrong = [v for v in value if v not in allowed]
        if wrong:
            raise RecordError(f"Lựa chọn không hợp lệ{where}: {', '.join(wrong)}. / Unknown options.")
        return list(dict.fromkeys(value))
    if not isinstance(value, str):
        raise RecordError(f"Cần một lựa chọn{where}. / One option is expected.")
    if field.kind == "choice":
        if value not in {o["value"] for o in field.options}:
            raise RecordError(f"Lựa chọn không hợp lệ{where}: {value}. / Unknown option.")
        return value
    units = load_units()
    if field.kind == "province":
        province = units.province(value)
        if province is None or province.name not in {p.name for p in provinces}:
            raise RecordError(f"Tỉnh/thành ngoài địa bàn phục vụ{where}: {value}. / Province not served.")
        return province.name
    province = units.province(str(values.get(province_key) or ""))
    commune = units.commune(province, value) if province is not None else None
    if commune is None:
        raise RecordError(f"Không có xã/phường \"{value}\" ở tỉnh/thành đã chọn{where}. / "
                          "Unknown commune for the chosen province.")
    return commune
