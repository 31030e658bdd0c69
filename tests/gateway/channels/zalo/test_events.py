"""Zalo pure functions: the documented signature test vector, event parsing, rendering, choices."""
from __future__ import annotations

import json

import pytest

from api.channels.zalo.adapter import CHOICE_HINT, ZALO_TEXT_LIMIT, parse_choice, render_reply
from api.channels.zalo.events import (
    MalformedEvent,
    decode_body,
    expected_signature,
    parse_event,
    signature_is_valid,
    signing_fields,
)

# The test vector from docs (channels.md, "Webhook signature").
VECTOR_BODY = (
    b'{"event_name":"user_send_text","app_id":"50554360515256678","sender":{"id":"5510185758261927916"},'
    b'"recipient":{"id":"1646843870823903717"},"message":{"text":"Helo","msg_id":"e2a641af6661713b2874"},'
    b'"timestamp":"1717061839659","user_id_by_app":"3611371994410983884"}'
)
VECTOR_SECRET = "TEST_OA_SECRET"
VECTOR_HEADER = "mac=818a38288ea6ff9fafcf99f018081680527afd155f1384b6330121012170d054"


def test_signature_matches_the_documented_vector() -> None:
    app_id, timestamp = signing_fields(decode_body(VECTOR_BODY))
    assert (app_id, timestamp) == ("50554360515256678", "1717061839659")
    assert expected_signature(app_id, VECTOR_BODY, timestamp, VECTOR_SECRET) == VECTOR_HEADER
    assert signature_is_valid(VECTOR_HEADER, app_id=app_id, raw_body=VECTOR_BODY, timestamp=timestamp,
                              oa_secret_key=VECTOR_SECRET)


@pytest.mark.parametrize("header", [
    None, "", "mac=", VECTOR_HEADER[:-1] + "0", VECTOR_HEADER.replace("mac=", ""),
])
def test_wrong_or_missing_signature_is_rejected(header: str | None) -> None:
    assert not signature_is_valid(header, app_id="50554360515256678", raw_body=VECTOR_BODY,
                                  timestamp="1717061839659", oa_secret_key=VECTOR_SECRET)


def test_signature_covers_the_raw_bytes_not_the_parsed_json() -> None:
    # Same JSON, different bytes (a space): the signature no longer matches.
    reformatted = VECTOR_BODY.replace(b'"Helo"', b' "Helo"')
    assert json.loads(reformatted) == json.loads(VECTOR_BODY)
    assert not signature_is_valid(VECTOR_HEADER, app_id="50554360515256678", raw_body=reformatted,
                                  timestamp="1717061839659", oa_secret_key=VECTOR_SECRET)


def test_text_event_keeps_ids_as_strings() -> None:
    event = parse_event(decode_body(VECTOR_BODY))
    assert event.kind == "text"
    assert event.user_id == "5510185758261927916"
    assert event.dedupe_key == "e2a641af6661713b2874"
    assert event.text == "Helo"


def test_numeric_ids_past_2_53_are_not_rounded() -> None:
    body = b'{"event_name":"follow","app_id":1,"follower":{"id":5510185758261927916},"timestamp":1717061839659}'
    event = parse_event(decode_body(body))
    assert event.user_id == "5510185758261927916"
    assert event.dedupe_key == "follow:5510185758261927916:1717061839659"


@pytest.mark.parametrize(("event_name", "kind", "attachment"), [
    ("user_send_image", "image", "image"),
    ("user_send_sticker", "sticker", "sticker"),
    ("user_send_link", "link", "link"),
])
def test_attachment_events(event_name: str, kind: str, attachment: str) -> None:
    data = {"event_name": event_name, "app_id": "1", "timestamp": "2", "sender": {"id": "42"},
            "message": {"msg_id": "m1", "attachments": [{"type": attachment, "payload": {"url": "https://x"}}]}}
    event = parse_event(data)
    assert event.kind == kind
    assert event.attachment_types == (attachment,)
    assert event.text is None


@pytest.mark.parametrize("event_name", ["oa_send_text", "user_received_message", "user_seen_message", "new_thing"])
def test_echoes_and_receipts_are_ignored(event_name: str) -> None:
    assert parse_event({"event_name": event_name, "app_id": "1", "timestamp": "2"}).kind == "ignored"


@pytest.mark.parametrize("data", [
    {"app_id": "1"},
    {"event_name": "user_send_text", "sender": {"id": "1"}, "message": {"text": "hi"}},
    {"event_name": "user_send_text", "message": {"text": "hi", "msg_id": "x"}},
    {"event_name": "user_send_text", "sender": {"id": "1"}, "message": {"msg_id": "x"}},
    {"event_name": "follow", "follower": {}},
])
def test_malformed_events(data: dict) -> None:
    with pytest.raises(MalformedEvent):
        parse_event(data)


@pytest.mark.parametrize("raw", [b"{not json", b"[1,2]", b"\xff\xfe", b""])
def test_body_must_be_a_json_object(raw: bytes) -> None:
    with pytest.raises(MalformedEvent):
        decode_body(raw)


def test_buttons_become_a_numbered_list() -> None:
    rendered = render_reply({"text": "Bạn muốn tìm hiểu gì?", "buttons": [
        {"title": "Có", "payload": "/affirm"}, {"title": "Không", "payload": "/deny"}]})
    assert rendered.texts == [f"Bạn muốn tìm hiểu gì?\n\n1. Có\n2. Không\n{CHOICE_HINT.default}"]
    assert [(c.number, c.payload) for c in rendered.choices] == [(1, "/affirm"), (2, "/deny")]


def test_long_text_with_buttons_is_split_and_keeps_the_list_whole() -> None:
    sentence = "Mình luôn ở đây để lắng nghe bạn. "
    text = (sentence * 58).strip()  # fits alone; with the list it does not
    assert len(text) <= ZALO_TEXT_LIMIT
    rendered = render_reply({"text": text, "buttons": [{"title": "Có", "payload": "/affirm"}]})
    assert rendered.texts == [text, f"1. Có\n{CHOICE_HINT.default}"]


def test_text_over_the_limit_is_split_on_sentences() -> None:
    sentence = "Mình luôn ở đây để lắng nghe bạn. "
    text = (sentence * 130).strip()
    rendered = render_reply({"text": text})
    assert len(rendered.texts) == 3
    assert all(len(part) <= ZALO_TEXT_LIMIT and part.endswith("bạn.") for part in rendered.texts)
    assert " ".join(rendered.texts) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("1", 1), ("2", 2), (" 2. ", 2), ("số 1", 1), ("Số 2", 2), ("so 2", 2), ("chọn 1", 1), ("#2", 2),
    ("3", None), ("0", None), ("1 2", None), ("tôi 1", None), ("12", None), ("một", None),
])
def test_parse_choice(text: str, expected: int | None) -> None:
    assert parse_choice(text, 2) == expected
