"""The intake-screen figures count what the rules alone read on a set, false alarms included."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from intake_screen_figures import set_counts  # noqa: E402

from vietnlu.risk.lexicon import load_default_risk_lexicon


def test_counts_harmless_alarms_and_disclosures_read_high(tmp_path):
    rows = [
        {"text": "hôm nay lớp em đi tham quan bảo tàng, vui ghê", "risk": "none"},
        {"text": "cứu tui với, con gà trống nhà bà rượt tui chạy quanh sân", "risk": "none"},
        {"text": "cứu em với, bố em đang cầm dao đòi chém em", "risk": "imminent"},
        {"text": "mẹ kế lấy bật lửa đốt tay em", "risk": "high"},
        {"text": "em bị bạn chọc là đồ mập", "risk": "concern"},
    ]
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n", encoding="utf-8")

    counts = set_counts(path, load_default_risk_lexicon())

    assert counts == {
        "harmless": 2,
        "false_alarms": 1,
        "high_plus": 2,
        "high_plus_read": 2,
        "imminent": 1,
        "imminent_read": 1,
    }
