"""The structured case record: its schema as data, saving and checking a record, 409 once the case
is closed, stale saves refused, admins editing a field, and every view and change audited."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from api.auth.models import AuditLog
from api.casework.models import CaseRecord
from tests.gateway.casework.helpers import app_of, disclose

pytestmark = pytest.mark.asyncio


def _field(schema: dict, key: str) -> dict:
    return next(f for f in schema["fields"] if f["key"] == key)


async def test_schema_lists_fields_seeded_from_data(staff_client: httpx.AsyncClient, staff: dict) -> None:
    response = await staff_client.get("/api/v1/case-record/schema", headers=staff["counselor"])
    assert response.status_code == 200
    schema = response.json()
    keys = [f["key"] for f in schema["fields"]]
    for key in ("age_group", "gender", "province", "commune", "harm", "relationship", "circumstances",
                "safety", "actions", "consent"):
        assert key in keys
    harm = _field(schema, "harm")
    assert {"value": "sexual_abuse.touching", "label": "Sờ mó, đụng chạm",
            "parent": "disclose_sexual_abuse"} in harm["options"]
    provinces = _field(schema, "province")["options"]
    assert len(provinces) == 34  # the area served is every province until an admin narrows it
    da_nang = next(p for p in provinces if p["value"] == "Đà Nẵng")
    assert "Phường Tam Kỳ" in da_nang["communes"]  # Quảng Nam joined Đà Nẵng on 1 July 2025
    assert "Quảng Nam" not in [p["value"] for p in provinces]
    circumstances = [o["value"] for o in _field(schema, "circumstances")["options"]]
    assert circumstances == ["disability", "ethnic_minority", "out_of_school", "migrant", "in_care"]
    assert (await staff_client.get("/api/v1/case-record/schema")).status_code == 401


async def test_record_saved_checked_audited_and_frozen_at_close(staff_client: httpx.AsyncClient,
                                                                staff: dict) -> None:
    app = app_of(staff_client)
    case_id = disclose(app, "501", "m1")
    counselor = staff["counselor"]
    empty = (await staff_client.get(f"/api/v1/cases/{case_id}/record", headers=counselor)).json()
    assert empty["values"] == {} and empty["version"] == 0 and empty["editable"] is True
    assert empty["reference"] == f"CA-{case_id:06d}"

    values = {"age_group": "11_14", "gender": "girl", "province": "Quảng Nam", "commune": "tam ky",
              "harm": ["disclose_physical_abuse", "physical_abuse.beating"], "relationship": "step_parent",
              "circumstances": ["ethnic_minority"], "safety": "at_risk", "actions": ["listened", "gave_111"],
              "actions_note": "Đã hướng dẫn gọi 111.", "consent": "yes", "gender_extra": None}
    values.pop("gender_extra")
    saved = await staff_client.put(f"/api/v1/cases/{case_id}/record", headers=counselor,
                                   json={"values": values, "version": 0})
    assert saved.status_code == 200, saved.text
    body = saved.json()
    # Places are written as they are named now: Quảng Nam is Đà Nẵng, "tam ky" is Phường Tam Kỳ.
    assert body["values"]["province"] == "Đà Nẵng" and body["values"]["commune"] == "Phường Tam Kỳ"
    assert body["version"] == 1
    again = (await staff_client.get(f"/api/v1/cases/{case_id}/record", headers=staff["supervisor"])).json()
    assert again["values"] == body["values"]

    bad = [
        {"age_group": "40_50"},
        {"harm": ["disclose_physical_abuse", "not_a_harm"]},
        {"province": "Đà Nẵng", "commune": "Phường Hoàn Kiếm"},  # a ward of Hà Nội
        {"shoe_size": "38"},
        {"actions_note": "x" * 2001},
        {"circumstances": "disability"},
    ]
    for values_bad in bad:
        response = await staff_client.put(f"/api/v1/cases/{case_id}/record", headers=counselor,
                                          json={"values": values_bad})
        assert response.status_code == 422, (values_bad, response.text)
        assert " / " in str(response.json()["detail"])
    stale = await staff_client.put(f"/api/v1/cases/{case_id}/record", headers=counselor,
                                   json={"values": {"gender": "boy"}, "version": 0})
    assert stale.status_code == 409
    # Nothing of a refused save was written.
    kept = (await staff_client.get(f"/api/v1/cases/{case_id}/record", headers=counselor)).json()
    assert kept["values"] == body["values"] and kept["version"] == 1

    with app.state.context.database.session() as session:
        stored = session.scalar(select(CaseRecord).where(CaseRecord.case_id == case_id))
        # Words base64 can never hold (a space, a diacritic): a ciphertext may contain "Tam" by chance.
        assert "step_parent\"" not in stored.values_encrypted and "Tam Kỳ" not in stored.values_encrypted
        updates = list(session.scalars(select(AuditLog).where(AuditLog.action == "case.record.update")))
        assert len(updates) == 1 and updates[0].target == f"case:{case_id}"
        assert "relationship" in updates[0].details["fields"]
        assert "step_parent" not in str(updates[0].details)
        assert session.scalar(select(AuditLog).where(AuditLog.action == "case.record.view")) is not None

    # An urgent case nobody accepted cannot be closed by a counselor: accept it, then close.
    assert (await staff_client.post(f"/api/v1/cases/{case_id}/accept", headers=counselor)).status_code == 200
    closed = await staff_client.post(f"/api/v1/cases/{case_id}/close", headers=counselor,
                                     json={"outcome": "advised"})
    assert closed.status_code == 200, closed.text
    late = await staff_client.put(f"/api/v1/cases/{case_id}/record", headers=counselor,
                                  json={"values": {"gender": "boy"}})
    assert late.status_code == 409
    final = (await staff_client.get(f"/api/v1/cases/{case_id}/record", headers=counselor)).json()
    assert final["editable"] is False and final["values"]["gender"] == "girl"


async def test_a_held_case_is_edited_by_its_counselor_or_a_supervisor(staff_client: httpx.AsyncClient,
                                                                      staff: dict) -> None:
    case_id = disclose(app_of(staff_client), "502", "m1")
    accepted = await staff_client.post(f"/api/v1/cases/{case_id}/accept", headers=staff["counselor"])
    assert accepted.status_code == 200, accepted.text
    other = await staff_client.put(f"/api/v1/cases/{case_id}/record", headers=staff["other"],
                                   json={"values": {"gender": "boy"}})
    assert other.status_code == 403
    supervisor = await staff_client.put(f"/api/v1/cases/{case_id}/record", headers=staff["supervisor"],
                                        json={"values": {"gender": "boy"}})
    assert supervisor.status_code == 200


async def test_admins_edit_fields_and_retired_options_stay_in_records(staff_client: httpx.AsyncClient,
                                                                      staff: dict) -> None:
    case_id = disclose(app_of(staff_client), "503", "m1")
    counselor, admin = staff["counselor"], staff["admin"]
    saved = await staff_client.put(f"/api/v1/cases/{case_id}/record", headers=counselor,
                                   json={"values": {"relationship": "neighbour", "province": "Đà Nẵng"}})
    assert saved.status_code == 200
    schema = (await staff_client.get("/api/v1/case-record/schema", headers=counselor)).json()
    relationship = _field(schema, "relationship")
    kept = [o for o in relationship["options"] if o["value"] != "neighbour"]
    kept.append({"value": "coach", "label": "Huấn luyện viên"})
    change = {"label": relationship["label"], "kind": "choice", "options": kept}
    assert (await staff_client.put("/api/v1/case-record/fields/relationship", headers=counselor,
                                   json=change)).status_code == 403
    response = await staff_client.put("/api/v1/case-record/fields/relationship", headers=admin, json=change)
    assert response.status_code == 200, response.text
    # The area served narrowed to one province: the record's province list follows.
    area = {"label": "Tỉnh, thành phố", "kind": "province", "options": ["Quảng Nam"]}
    assert (await staff_client.put("/api/v1/case-record/fields/province", headers=admin, json=area)).status_code == 200
    schema = (await staff_client.get("/api/v1/case-record/schema", headers=counselor)).json()
    assert [p["value"] for p in _field(schema, "province")["options"]] == ["Đà Nẵng"]
    assert "coach" in [o["value"] for o in _field(schema, "relationship")["options"]]
    # Autosaving the other fields keeps the retired option the record holds.
    autosave = await staff_client.put(f"/api/v1/cases/{case_id}/record", headers=counselor, json={
        "values": {"relationship": "neighbour", "province": "Đà Nẵng", "gender": "boy"}})
    assert autosave.status_code == 200 and autosave.json()["values"]["relationship"] == "neighbour"
    assert (await staff_client.put(f"/api/v1/cases/{case_id}/record", headers=counselor, json={
        "values": {"province": "Hà Nội"}})).status_code == 422
    for bad in ({"label": "x", "kind": "colour", "options": []},
                {"label": "x", "kind": "choice", "options": [{"value": "a"}, {"value": "a"}]},
                {"label": "x", "kind": "province", "options": ["Atlantis"]}):
        assert (await staff_client.put("/api/v1/case-record/fields/new_field", headers=admin,
                                       json=bad)).status_code == 422
    assert (await staff_client.put("/api/v1/case-record/fields/relationship", headers=admin,
                                   json={"label": "x", "kind": "text"})).status_code == 409
