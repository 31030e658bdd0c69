"""Folding, tokens and the teencode lexicon: what every classifier and the risk engine see."""
from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from vietnlu.lexicon import Lexicon, load_default_lexicon
from vietnlu.text import fold, fold_word, is_emoji, nfc, strip_diacritics, tokenize


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# ------------------------------------------------------------------------------------ folding


def test_composed_and_decomposed_input_fold_the_same():
    composed = "Bố đánh em, cứu em với!"
    decomposed = _nfd(composed)
    assert composed != decomposed
    assert nfc(decomposed) == composed
    assert fold(decomposed) == fold(composed) == "bo danh em cuu em voi"


def test_diacritics_and_typed_without_them_fold_the_same():
    assert fold("Bố đánh em") == fold("bo danh em") == fold("BO DANH EM")


@pytest.mark.parametrize("word, folded", [("đ", "d"), ("Đ", "d"), ("đánh", "danh"), ("Đừng", "dung")])
def test_d_with_stroke_folds_to_d(word, folded):
    assert fold_word(word) == folded


def test_strip_diacritics_keeps_case_and_maps_d():
    assert strip_diacritics("Đà Nẵng đẹp") == "Da Nang dep"


@pytest.mark.parametrize("word, folded", [("ý", "i"), ("quý", "qui"), ("yêu", "ieu"), ("Lý", "li"), ("lí", "li")])
def test_y_folds_to_i(word, folded):
    assert fold_word(word) == folded


@pytest.mark.parametrize(
    "word, folded",
    [
        ("roii", "roi"),
        ("rồiii", "roi"),
        ("nhaaa", "nha"),
        ("muốnnn", "muon"),
        ("cuuuu", "cuu"),
        ("cứuuuu", "cuu"),
        ("huuu", "huu"),
        ("CHAOOOO", "chao"),
        ("chàooooo", "chao"),
        ("NOOOO", "no"),
    ],
)
def test_chat_elongation_collapses(word, folded):
    assert fold_word(word) == folded


@pytest.mark.parametrize("word", ["xoong", "cuu", "huu", "soong"])
def test_real_double_o_and_double_u_are_kept(word):
    assert fold_word(word) == word


def test_fold_drops_punctuation_and_extra_spaces():
    assert fold("  Em...   sợ   lắm!!! ") == "em so lam"


# ------------------------------------------------------------------------------------- tokens


def test_tokens_carry_their_start_offsets():
    text = "Bố đánh em, đau lắm"
    tokens = tokenize(text)
    assert [token for token, _ in tokens] == ["Bố", "đánh", "em", "đau", "lắm"]
    for token, start in tokens:
        assert text[start : start + len(token)] == token


def test_offsets_of_decomposed_input_refer_to_the_nfc_text():
    text = _nfd("Bố đánh em")
    tokens = tokenize(text)
    assert [token for token, _ in tokens] == ["Bố", "đánh", "em"]
    assert [start for _, start in tokens] == [0, 3, 8]


def test_underscore_and_punctuation_split_tokens():
    assert [token for token, _ in tokenize("hu_hu...em-buồn")] == ["hu", "hu", "em", "buồn"]


def test_emoji_are_tokens_of_their_own():
    text = "em buồn😢 lắm 🔪"
    tokens = tokenize(text)
    assert [token for token, _ in tokens] == ["em", "buồn", "😢", "lắm", "🔪"]
    assert ("😢", text.index("😢")) in tokens
    assert is_emoji("😢") and is_emoji("❤")
    assert not is_emoji("em") and not is_emoji("") and not is_emoji("😢😢")


def test_punctuation_only_text_has_no_tokens():
    assert tokenize("??? ...!") == []
    assert fold("???") == ""


# ------------------------------------------------------------------------------------ lexicon


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "teencode.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def small_lexicon(tmp_path: Path) -> Lexicon:
    return Lexicon.load(
        _write(
            tmp_path,
            "teencode:\n"
            "  ko: không\n"
            "  e: em\n"
            "  mn: mọi người\n"
            "  hum: không\n"
            "dialect_south:\n"
            "  hổng: không\n"
            "phrases:\n"
            "  hum nay: hôm nay\n"
            "  làm răng: làm sao\n",
        )
    )


def test_word_expansions_are_folded(small_lexicon):
    assert small_lexicon.words["ko"] == "khong"
    assert small_lexicon.words["hong"] == "khong"
    assert small_lexicon.normalise("E ko biết") == "em khong biet"


def test_a_word_may_expand_to_several_words(small_lexicon):
    assert small_lexicon.normalise("chào mn") == "chao moi nguoi"
    tokens = small_lexicon.normalise_tokens("chào mn")
    assert tokens == [("chào", 0, "chao"), ("mn", 5, "moi nguoi")]


def test_phrases_win_over_single_words(small_lexicon):
    # "hum" alone is "không", but "hum nay" is "hôm nay".
    assert small_lexicon.normalise("hum nay e buồn") == "hom nai em buon"
    assert small_lexicon.normalise("e hum biết") == "em khong biet"
    assert small_lexicon.normalise("làm răng bây giờ") == "lam sao bai gio"


def test_phrase_tokens_keep_one_lemma_each(small_lexicon):
    tokens = small_lexicon.normalise_tokens("Hum nay")
    assert tokens == [("Hum", 0, "hom"), ("nay", 4, "nai")]


def test_words_typed_with_diacritics_or_elongated_still_expand(small_lexicon):
    assert small_lexicon.normalise("eee") == "em"
    assert small_lexicon.normalise(_nfd("hổng")) == "khong"


def test_loader_refuses_a_word_with_two_meanings(tmp_path):
    path = _write(tmp_path, "teencode:\n  ko: không\ndialect_central:\n  kó: có\n")
    with pytest.raises(ValueError, match="maps to both"):
        Lexicon.load(path)


def test_loader_accepts_the_same_meaning_twice(tmp_path):
    path = _write(tmp_path, "teencode:\n  ko: không\ndialect_south:\n  kó: khong\n")
    assert Lexicon.load(path).words == {"ko": "khong"}


@pytest.mark.parametrize("phrase", ["hum nay: hôm", "làm răng: làm sao đây", "răng: sao"])
def test_loader_refuses_a_phrase_that_is_not_word_for_word(tmp_path, phrase):
    path = _write(tmp_path, f"teencode:\n  ko: không\nphrases:\n  {phrase}\n")
    with pytest.raises(ValueError, match="word for word"):
        Lexicon.load(path)


def test_empty_lexicon_file_changes_nothing_but_folding(tmp_path):
    lexicon = Lexicon.load(_write(tmp_path, ""))
    assert lexicon.normalise("E ko biết") == "e ko biet"


def test_default_lexicon_loads_and_expands_common_teencode():
    lexicon = load_default_lexicon()
    assert lexicon.normalise("hum nay e ko bít j") == "hom nai em khong biet gi"
