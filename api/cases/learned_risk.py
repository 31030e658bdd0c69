"""The learned risk model, read by the gateway itself while Rasa is down.

The intake screen reads every message with the risk rules (lexicon and patterns) at the webhook. When
a message's turn then finds Rasa unreachable, the rules alone miss disclosures that only the learned
model recognises ("mai em không còn ở đây nữa đâu"). This reads the same trained model Rasa runs,
taken out of the model archive (`SERVED_MODEL_PATH`, models/current.tar.gz by default), and
combines it with the rules as Rasa does (vietnlu.risk.combine): the case opens while Rasa is down as
it would with Rasa up, less the topic classifier's intents and the two-keys rule (which needs them).

The gateway's scikit-learn, numpy and scipy are pinned to the Rasa environment's
(requirements/gateway-constraints.txt), so the pickled model reads the same here:
scripts/risk_model_portability.py measured identical levels in both environments.
Loading takes a second or two and ~100 MB: it happens in a thread at start, and a gateway without a
model file (or with one it cannot read) keeps the rules alone.
"""
from __future__ import annotations

import logging
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from vietnlu.lexicon import DEFAULT_LEXICON_PATH, Lexicon
from vietnlu.risk.combine import combine
from vietnlu.risk.model import RiskModel
from vietnlu.risk.rules import RiskAssessment

log = logging.getLogger(__name__)

RISK_MODEL_FILE = "risk_model.pkl"  # the RiskAssessor component's resource in the Rasa model


class LearnedRisk:
    """The learned model of one Rasa model archive; `read` gives the combined reading."""

    def __init__(self, model: RiskModel, source: Path) -> None:
        self.model = model
        self.source = source

    @classmethod
    def load(cls, archive: Path) -> LearnedRisk | None:
        """The model inside `archive`, or None (logged) when there is none or it cannot be read."""
        try:
            with tarfile.open(archive) as tar, tempfile.TemporaryDirectory() as directory:
                # Stop at the member: reading the whole archive (getmembers) would unpack all of it.
                member = next((m for m in tar
                               if "RiskAssessor" in m.name and m.name.endswith(RISK_MODEL_FILE)), None)
                if member is None:
                    log.warning("no learned risk model in %s: the rules alone read risk while Rasa is down",
                                archive.name)
                    return None
                handle = tar.extractfile(member)
                assert handle is not None
                path = Path(directory) / RISK_MODEL_FILE
                path.write_bytes(handle.read())
                lexicon = Lexicon.load(str(DEFAULT_LEXICON_PATH))
                return cls(RiskModel.load(path, lexicon), archive)
        except FileNotFoundError:
            log.warning("no model file at %s: the rules alone read risk while Rasa is down", archive)
        except Exception as exc:  # a model this gateway cannot read must not stop the gateway
            log.warning("learned risk model unreadable (%s): the rules alone read risk while Rasa is down",
                        type(exc).__name__)
            log.debug("learned risk model load failure", exc_info=True)
        return None

    def read(self, text: str, rule_reading: RiskAssessment) -> RiskAssessment:
        """The rules' reading combined with the model's, as Rasa combines them, less the two-keys
        rule: without the classifier's intents the rules back far fewer readings, and during an
        outage a faint reading still opens the case at once (Rasa reads the message again later).
        No topic either (the topic classifiers are Rasa's), so neither topic key applies."""
        return combine(rule_reading, self.model.read(text), lone_model_min=0.0)


def load_learned_risk(archive: Any) -> LearnedRisk | None:
    """For asyncio.to_thread at start-up."""
    return LearnedRisk.load(Path(archive))
