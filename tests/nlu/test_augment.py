"""Build-time augmentation: copies without diacritics and in chat spelling, and the conflict check."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vietnlu.augment import augment, chat_variant, find_conflicts, read_examples
from vietnlu.lexicon import Lexicon, load_default_lexicon
from vietnlu.text import strip_diacritics

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_default_lexicon()


def test_augment_keeps_every_original_in_order(lexicon):
    examples = {
        "greet": ["Chào bạn", "xin chào mọi người"],
        "disclose_bullying": ["Em bị bạn cùng lớp bắt nạt", "tụi nó chặn đường đánh em"],
    }
    augmented = augment(examples, lexicon)
    for intent, texts in examples.items():
        kept = [text for text in augmented[intent] if text in texts]
        assert kept == texts


def test_copies_are_added_only_when_their_normalised_form_is_new(lexicon):
    augmented = augment({"greet": ["Chào bạn"]}, lexicon)
    # "Chao ban" folds exactly like "Chào bạn": the pipeline would see nothing new.
    assert "Chao ban" not in augmented["greet"]
    normalised = [lexicon.normalise(text) for text in augmented["greet"]]
    assert len(normalised) == len(set(normalised))


def test_a_copy_that_reads_differently_is_added(tmp_path):
    # With an empty teencode file the chat spellings ("ko", "dc") stay as typed, so they are new.
    empty = Lexicon.load(_write(tmp_path / "teencode.yml", ""))
    text = "Em không được đi học"
    chat = chat_variant(text)
    assert empty.normalise(chat) != empty.normalise(text)
    augmented = augment({"disclose_neglect": [text]}, empty)["disclose_neglect"]
    assert augmented[0] == text
    assert chat in augmented
    # The diacritic-free copy folds like the original: not added.
    assert strip_diacritics(text) not in augmented
    normalised = [empty.normalise(variant) for variant in augmented]
    assert len(normalised) == len(set(normalised))


def test_duplicates_within_an_intent_are_dropped(lexicon):
    augmented = augment({"thank": ["Cảm ơn bạn", "cam on ban", "Cảm ơn bạn!"]}, lexicon)
    assert augmented["thank"] == ["Cảm ơn bạn"]


def test_chat_variant_is_deterministic_and_without_diacritics():
    text = "Em không biết phải làm gì với mọi người, em muốn có người giúp"
    first = chat_variant(text)
    assert all(chat_variant(text) == first for _ in range(5))
    assert first == strip_diacritics(first)
    assert first == first.lower()


def test_chat_variant_uses_chat_spellings_for_some_sentences():
    sentences = [
        "Em không biết phải làm gì",
        "mình không được đi học",
        "em muốn nói chuyện với người lớn",
        "hôm nay em buồn quá",
        "em không thích như vậy",
    ]
    variants = [chat_variant(text) for text in sentences]
    plain = [strip_diacritics(text).lower() for text in sentences]
    assert any(variant != base for variant, base in zip(variants, plain, strict=True))


def test_find_conflicts_names_the_folded_sentence_and_both_intents(lexicon):
    examples = {
        "ask_bullying_help": ["Bị bắt nạt thì làm sao?", "làm sao để hết bị bắt nạt"],
        "disclose_bullying": ["bi bat nat thi lam sao", "em bị bắt nạt ở trường"],
        "greet": ["chào"],
    }
    conflicts = find_conflicts(examples, lexicon)
    assert conflicts == {"bi bat nat thi lam sao": {"ask_bullying_help", "disclose_bullying"}}


def test_find_conflicts_sees_teencode_as_the_standard_word(lexicon):
    conflicts = find_conflicts({"deny": ["không"], "affirm": ["ko"]}, lexicon)
    assert conflicts == {"khong": {"affirm", "deny"}}


def test_no_conflict_for_the_same_sentence_twice_in_one_intent(lexicon):
    assert find_conflicts({"greet": ["chào bạn", "Chào bạn!"]}, lexicon) == {}


# ------------------------------------------------------------------------------ command line


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _nlu_dir(tmp_path: Path, bullying_example: str) -> Path:
    nlu = tmp_path / "nlu"
    _write(
        nlu / "faq.yml",
        'version: "3.1"\nnlu:\n- intent: ask_bullying_help\n  examples: |\n'
        "    - Bị bắt nạt thì làm sao?\n    - làm gì khi bạn bè bị bắt nạt\n",
    )
    _write(
        nlu / "sub" / "disclosures.yml",
        'version: "3.1"\nnlu:\n- intent: disclose_bullying\n  examples: |\n'
        f"    - {bullying_example}\n    - Em không muốn đi học vì bị bạn đánh\n"
        "- regex: phone\n  examples: |\n    - \\d{10}\n",
    )
    return nlu


def _run(nlu: Path, out: Path) -> subprocess.CompletedProcess[str]:
    # Runs our own module with this interpreter, arguments built by the test.
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "vietnlu.augment", str(nlu), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_command_fails_with_a_conflict_message(tmp_path):
    nlu = _nlu_dir(tmp_path, "bi bat nat thi lam sao")
    out = tmp_path / "build" / "augmented.yml"
    result = _run(nlu, out)
    assert result.returncode == 1, result.stderr
    assert "conflict" in result.stderr
    assert "bi bat nat thi lam sao" in result.stderr
    assert "ask_bullying_help" in result.stderr and "disclose_bullying" in result.stderr
    assert not out.exists()


def test_command_writes_loadable_rasa_training_data(tmp_path):
    from rasa.shared.nlu.training_data.loading import load_data

    nlu = _nlu_dir(tmp_path, "Em bị bạn cùng lớp bắt nạt hoài")
    out = tmp_path / "build" / "augmented.yml"
    result = _run(nlu, out)
    assert result.returncode == 0, result.stderr
    assert out.exists()

    examples = read_examples(nlu)
    data = load_data(str(out))
    by_intent: dict[str, list[str]] = {}
    for message in data.intent_examples:
        by_intent.setdefault(message.get("intent"), []).append(message.get("text"))
    assert set(by_intent) == {"ask_bullying_help", "disclose_bullying"}
    for intent, texts in examples.items():
        assert set(texts) <= set(by_intent[intent]), intent
    assert sum(len(texts) for texts in by_intent.values()) >= sum(len(texts) for texts in examples.values())
    assert "Em bị bạn cùng lớp bắt nạt hoài" in by_intent["disclose_bullying"]
