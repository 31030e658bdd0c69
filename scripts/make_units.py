"""Write data/places/units.yml, the current administrative units (two levels since 1 July 2025).

The list of provinces and communes comes from the package `vietnam-provinces` (installed only to run
this script: `pip install vietnam-provinces`); the former provinces each one took in (Resolution
202/2025/QH15) are written here, because people still name them. Run it when the units change.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

# Resolution 202/2025/QH15: the provinces that joined another one keep living in people's words.
FORMER = {
    "Tuyên Quang": ["Hà Giang"], "Lào Cai": ["Yên Bái"], "Thái Nguyên": ["Bắc Kạn"],
    "Phú Thọ": ["Vĩnh Phúc", "Hòa Bình"], "Bắc Ninh": ["Bắc Giang"], "Hưng Yên": ["Thái Bình"],
    "Hải Phòng": ["Hải Dương"], "Ninh Bình": ["Hà Nam", "Nam Định"], "Quảng Trị": ["Quảng Bình"],
    "Đà Nẵng": ["Quảng Nam"], "Quảng Ngãi": ["Kon Tum"], "Gia Lai": ["Bình Định"],
    "Khánh Hòa": ["Ninh Thuận"], "Lâm Đồng": ["Đắk Nông", "Bình Thuận"], "Đắk Lắk": ["Phú Yên"],
    "Hồ Chí Minh": ["Bình Dương", "Bà Rịa - Vũng Tàu"], "Đồng Nai": ["Bình Phước"], "Tây Ninh": ["Long An"],
    "Cần Thơ": ["Sóc Trăng", "Hậu Giang"], "Vĩnh Long": ["Bến Tre", "Trà Vinh"], "Đồng Tháp": ["Tiền Giang"],
    "Cà Mau": ["Bạc Liêu"], "An Giang": ["Kiên Giang"],
}


def main() -> int:
    import vietnam_provinces

    source = Path(vietnam_provinces.__file__).parent / "data" / "nested-divisions.json"
    provinces = []
    for item in json.loads(source.read_text(encoding="utf-8")):
        city = item["name"].startswith("Thành phố ")
        name = item["name"].removeprefix("Thành phố ")
        provinces.append({
            "name": name,
            "kind": "thành phố" if city else "tỉnh",
            "code": item["code"],
            "former": FORMER.get(name, []),
            "communes": [ward["name"] for ward in item["wards"]],
        })
    unknown = set(FORMER) - {p["name"] for p in provinces}
    if unknown:
        print(f"unknown provinces in FORMER: {sorted(unknown)}", file=sys.stderr)
        return 1
    out = Path(__file__).resolve().parents[1] / "data" / "places" / "units.yml"
    header = ("# Vietnam's administrative units since 1 July 2025: provinces (tỉnh, thành phố) and communes\n"
              "# (xã, phường, đặc khu); districts no longer exist. `former`: provinces that joined this one.\n"
              f"# Written by scripts/make_units.py from vietnam-provinces {vietnam_provinces.__version__}.\n")
    body = yaml.safe_dump({"provinces": provinces}, allow_unicode=True, sort_keys=False, width=120)
    out.write_text(header + body, encoding="utf-8")
    print(f"{out}: {len(provinces)} provinces, {sum(len(p['communes']) for p in provinces)} communes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
