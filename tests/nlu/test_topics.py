"""Choosing among the self-disclosure topics with the risk model's harm head (vietnlu/topics.py)."""

from __future__ import annotations

import pytest

from vietnlu.risk.combine import HARM_TOPICS
from vietnlu.topics import disclosure_by_harm

RANKING = [("disclose_online_abuse", 0.55), ("disclose_sexual_abuse", 0.35), ("out_of_scope", 0.1)]


def test_a_clear_harm_reading_moves_a_close_disclosure_topic():
    reranked = disclosure_by_harm(RANKING, {"sexual": 0.9, "online": 0.05, "none": 0.05}, 0.3)
    # 0.7 × 0.35 + 0.3 × 0.9 = 0.515 against 0.7 × 0.55 + 0.3 × 0.05 = 0.4
    assert reranked[0] == ("disclose_sexual_abuse", 0.55)
    assert ("disclose_online_abuse", 0.35) in reranked
    assert len(reranked) == len(RANKING)


def test_a_harm_reading_that_agrees_or_is_faint_leaves_the_ranking():
    assert disclosure_by_harm(RANKING, {"online": 0.8, "sexual": 0.2}, 0.3) == RANKING
    assert disclosure_by_harm(RANKING, {"sexual": 0.5, "online": 0.3}, 0.3) == RANKING


@pytest.mark.parametrize("top", ["report_third_party", "out_of_scope", "ask_online_safety", "nlu_fallback"])
def test_only_a_self_disclosure_topic_is_chosen_again(top):
    ranking = [(top, 0.6), ("disclose_sexual_abuse", 0.3)]
    assert disclosure_by_harm(ranking, {"sexual": 1.0}, 0.3) == ranking


def test_weight_zero_or_no_reading_leaves_the_topic_to_the_classifiers():
    assert disclosure_by_harm(RANKING, {"sexual": 1.0}, 0.0) == RANKING
    assert disclosure_by_harm(RANKING, {}, 0.3) == RANKING


def test_a_topic_missing_from_the_ranking_can_still_be_chosen():
    reranked = disclosure_by_harm([("disclose_bullying", 0.4), ("out_of_scope", 0.3)], {"physical": 0.95}, 0.5)
    assert reranked[0] == ("disclose_physical_abuse", 0.4)
    assert ("disclose_bullying", 0.0) in reranked


def test_every_harm_maps_to_a_disclosure_topic_of_the_label_contract():
    from vietnlu.risk import DISCLOSURE_TOPICS

    assert set(HARM_TOPICS.values()) == set(DISCLOSURE_TOPICS) - {"report_third_party"}
