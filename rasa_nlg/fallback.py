"""NLG that asks the gateway for the live text of a response and falls back to domain.yml.

endpoints.yml:

    nlg:
      type: rasa_nlg.fallback.FallbackCallbackNLG
      url: http://127.0.0.1:8000/nlg
      token: ${NLG_TOKEN}        # optional, sent as ?token=
      timeout: 2                 # seconds, optional

A child must never get an empty reply, so any failure of the gateway (down, slow, an error status,
an invalid body, or an empty text) gives the default text from domain.yml instead.

The request has Rasa's NLG format ({"response", "id", "arguments", "tracker", "channel"}) except
that "tracker" carries only the sender id and the slots: the gateway's templates fill in slots and
nothing else, and Rasa's own client sends (and logs at debug level, formatted even when debug is
off) every event of the conversation with every line, a cost that grows with each turn.
"""
from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Any

from jsonschema.protocols import Validator
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.core.nlg.callback import CallbackNaturalLanguageGenerator, nlg_response_format_spec
from rasa.core.nlg.generator import NaturalLanguageGenerator
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

import rasa_speedups
from rasa_speedups.action_result_check import compiled

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 2.0
DEFAULT_DOMAIN_PATH = "domain.yml"


def _load_domain_responses(path: str) -> dict[str, list[dict[str, Any]]]:
    try:
        return Domain.load(path).responses
    except Exception as error:  # noqa: BLE001  (no file: no defaults, logged loudly)
        logger.error("could not read default responses from %s: %s", path, error)
        return {}
# Keys besides "text" that make a reply worth sending on their own.
_CONTENT_KEYS = ("buttons", "image", "elements", "attachment", "custom")


@lru_cache(maxsize=1)
def nlg_response_validator() -> Validator:
    return compiled(nlg_response_format_spec())


def _has_text(response: dict[str, Any] | None) -> bool:
    return isinstance(response, dict) and bool(str(response.get("text") or "").strip())


class FallbackCallbackNLG(NaturalLanguageGenerator):
    """Callback NLG with a time limit and domain.yml as the fallback."""

    def __init__(
        self,
        endpoint_config: EndpointConfig,
        domain: Domain | None = None,
        timeout: float | None = None,
    ) -> None:
        # Rasa builds this generator at start-up, before any action runs: the one place our code runs
        # inside the server, so the server's speed patches are installed here, explicitly.
        rasa_speedups.install()
        self.endpoint_config = endpoint_config
        # Rasa builds this generator before it loads the model, so `domain` is usually empty here;
        # the defaults then come from the domain file (endpoints.yml `domain`, default domain.yml)
        # or, for utter actions, from the responses Rasa passes along with each request.
        responses = (domain or Domain.empty()).responses
        if not responses:
            responses = _load_domain_responses(endpoint_config.kwargs.get("domain") or DEFAULT_DOMAIN_PATH)
        self.templated = TemplatedNaturalLanguageGenerator(responses)
        configured = timeout if timeout is not None else endpoint_config.kwargs.get("timeout")
        self.timeout = float(configured) if configured else DEFAULT_TIMEOUT_SECONDS

    async def _ask_gateway(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        arguments: dict[str, Any],
    ) -> dict[str, Any] | None:
        """The gateway's live text; raises on anything but a valid answer."""
        domain_responses = arguments.pop("domain_responses", None)
        response_id = CallbackNaturalLanguageGenerator.fetch_response_id(
            utter_action, tracker, output_channel, domain_responses
        )
        body = {
            "response": utter_action,
            "id": response_id,
            "arguments": arguments,
            "tracker": {"sender_id": tracker.sender_id, "slots": tracker.current_slot_values()},
            "channel": {"name": output_channel},
        }
        response = await self.endpoint_config.request(
            method="post", json=body, timeout=DEFAULT_REQUEST_TIMEOUT
        )
        if not isinstance(response, dict):
            raise ValueError("the NLG endpoint did not answer with a JSON object")
        nlg_response_validator().validate(response)
        return response

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        remote_response: dict[str, Any] | None = None
        try:
            remote_response = await asyncio.wait_for(
                self._ask_gateway(utter_action, tracker, output_channel, dict(kwargs)),
                timeout=self.timeout,
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001  (any failure of the gateway means: the default text)
            logger.warning("NLG endpoint failed for %s (%s); using domain.yml", utter_action,
                           type(error).__name__)
        if _has_text(remote_response):
            return remote_response
        if remote_response is not None:
            logger.warning("NLG endpoint gave no text for %s; using domain.yml", utter_action)

        local_kwargs = dict(kwargs)
        domain_responses = local_kwargs.pop("domain_responses", None)
        templated = (
            TemplatedNaturalLanguageGenerator(domain_responses) if domain_responses else self.templated
        )
        default = await templated.generate(utter_action, tracker, output_channel, **local_kwargs)
        if default is None and isinstance(remote_response, dict) and any(
            remote_response.get(key) for key in _CONTENT_KEYS
        ):
            # A response without any text in domain.yml either (e.g. only buttons or custom data).
            return remote_response
        return default
