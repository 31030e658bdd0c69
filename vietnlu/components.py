"""Rasa 3.6 graph components for Vietnamese: a folding tokenizer and the risk assessor.

Referenced from config.yml as `vietnlu.components.VietnameseTokenizer` and
`vietnlu.components.RiskAssessor`.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from vietnlu.lexicon import DEFAULT_LEXICON_PATH, Lexicon
from vietnlu.risk import DEFAULT_RISK_LEXICON_PATH, RiskLexicon, assess
from vietnlu.text import is_emoji, nfc

RISK_KEY = "risk"


def _offsets_in_original(text: str) -> Optional[Dict[int, Tuple[int, int]]]:
    """NFC offset -> (first, last) index in `text` with the same NFC prefix length.

    Tokens are found in the NFC text; a message typed in decomposed form (some Vietnamese
    keyboards send base letters and combining tone marks) is longer, so its offsets differ.
    None when the text already is NFC.
    """
    if nfc(text) == text:
        return None
    spans: Dict[int, Tuple[int, int]] = {}
    for index in range(len(text) + 1):
        length = len(nfc(text[:index]))
        first, _ = spans.get(length, (index, index))
        spans[length] = (first, index)
    return spans


def _emoji_lemma(token: str) -> str:
    # Word featurizers only count \w tokens, so an emoji becomes a word of its code points.
    return "emoji" + "".join(f"{ord(ch):x}" for ch in token)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False
)
class VietnameseTokenizer(Tokenizer):
    """Keeps each token's surface text (offsets stay right) and puts the folded,
    teencode-expanded form in its lemma, which the count featurizers read."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            "lexicon_path": str(DEFAULT_LEXICON_PATH),
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        self.lexicon = Lexicon.load(config.get("lexicon_path") or DEFAULT_LEXICON_PATH)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> VietnameseTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute) or ""
        spans = _offsets_in_original(text)
        tokens: List[Token] = []
        for surface, start, lemma in self.lexicon.normalise_tokens(text):
            if is_emoji(surface):
                lemma = _emoji_lemma(surface)
            end = start + len(surface)
            if spans is not None:
                # Offsets and surface text refer to the message as typed, not to its NFC form.
                start, end = spans[start][0], spans[end][1]
                surface = text[start:end]
            tokens.append(Token(surface, start, end=end, lemma=lemma))
        if not tokens:
            # Only punctuation (e.g. "???"): keep one token so featurizers see something.
            tokens = [Token(text, 0, end=len(text), lemma=text)]
        return self._apply_token_pattern(tokens)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class RiskAssessor(GraphComponent, IntentClassifier):
    """Adds `risk` = {level, category, signals} to every parse result.

    Combines the classifier's ranking with the reviewed risk lexicon (data/lexicon/risk.yml).
    Must come after the intent classifier and before the FallbackClassifier, so that it sees
    the classifier's own top intent.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "risk_lexicon_path": str(DEFAULT_RISK_LEXICON_PATH),
            "lexicon_path": str(DEFAULT_LEXICON_PATH),
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.component_config = config
        self.lexicon = Lexicon.load(config.get("lexicon_path") or DEFAULT_LEXICON_PATH)
        self.risk_lexicon = RiskLexicon.load(
            config.get("risk_lexicon_path") or DEFAULT_RISK_LEXICON_PATH
        )

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RiskAssessor:
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            intent: Optional[Dict[str, Any]] = message.get(INTENT) or {}
            ranking = [
                (item.get("name"), float(item.get("confidence") or 0.0))
                for item in (message.get(INTENT_RANKING_KEY) or [])
            ]
            risk = assess(
                text,
                intent.get("name"),
                float(intent.get("confidence") or 0.0),
                ranking,
                lexicon=self.risk_lexicon,
                text_lexicon=self.lexicon,
            )
            message.set(RISK_KEY, risk.as_dict(), add_to_output=True)
        return messages

    def process_training_data(self, training_data: Any) -> Any:
        return training_data
