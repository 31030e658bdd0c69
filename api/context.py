"""The application context: every service of one gateway app, typed, in one object on app.state.

`create_app` builds it (`app.state.context`); routes get it with the `Ctx` dependency
(api/deps.py), other code with `app_context(app)`. The first group exists as soon as the app is
created; the rest is set when the app starts (the lifespan) or when a feature or channel starts.
A field that is not set yet raises AttributeError, as before the app starts.

Types from higher layers (features, channels) are imported for type checking only: this module
sits below them and imports none of them at run time (import-linter skips TYPE_CHECKING imports).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from api.auth.throttle import LoginThrottle
from api.messaging.pipeline import HookRegistry
from api.messaging.senders import ChannelRegistry
from api.messaging.texts import UserTexts
from api.metrics import GatewayMetrics
from api.security.crypto import Crypto
from api.settings import Settings
from api.tasks import ShutdownFlag

if TYPE_CHECKING:
    from telegram.ext import Application

    from api.cases.attributes import CaseRecords
    from api.cases.events import EventBroker
    from api.cases.handoff import HandoffService
    from api.cases.notify import CaseNotifier
    from api.cases.service import CaseLog
    from api.casework.followup import ReferralFollowUp
    from api.channels.webchat.mailbox import WebChatMailbox
    from api.channels.webchat.routes import RateLimiter
    from api.channels.zalo.tokens import ZaloTokenStore
    from api.content.retrain import RetrainRunner
    from api.content.setup import BroadcastScheduler
    from api.db.gate import WriteGate
    from api.db.session import Database
    from api.messaging.delivery import DeliveryWorker
    from api.messaging.instances import InstanceRegistry
    from api.messaging.pipeline import Pipeline
    from api.messaging.rasa_client import RasaClient
    from api.messaging.worker import InboundWorker

# `start(app) -> object with async stop()` (or None), started in order after the database.
StartService = Callable[[FastAPI], Awaitable[Any]]


@dataclass(eq=False)
class AppContext:
    # Built by create_app.
    settings: Settings
    crypto: Crypto
    pipeline_hooks: HookRegistry = field(default_factory=HookRegistry)
    channel_senders: ChannelRegistry = field(default_factory=ChannelRegistry)
    startup_services: list[StartService] = field(default_factory=list)
    login_throttle: LoginThrottle = field(init=False)  # api/auth/throttle.py, built by create_app
    metrics: GatewayMetrics = field(default_factory=GatewayMetrics)
    shutdown: ShutdownFlag = field(default_factory=ShutdownFlag)
    # What the lifespan started (workers, channel and feature services), for readiness.
    background_services: list[Any] = field(default_factory=list)
    user_texts: UserTexts = field(default_factory=UserTexts)  # the content feature installs the live texts
    # Built by the lifespan.
    database: Database = field(init=False)
    write_gate: WriteGate = field(init=False)
    rasa: RasaClient = field(init=False)
    pipeline: Pipeline = field(init=False)
    inbound_worker: InboundWorker = field(init=False)
    delivery_worker: DeliveryWorker = field(init=False)
    instance: InstanceRegistry = field(init=False)  # this process in gateway_instances (heartbeat)
    risk_lexicon: Any = field(init=False)  # the intake screen's compiled lexicon
    learned_risk: Any = None  # the learned risk model for while Rasa is down (api/cases/learned_risk.py)
    # Cases (api/cases/setup.py).
    case_events: EventBroker = field(init=False)
    case_log: CaseLog = field(init=False)
    case_notifier: CaseNotifier = field(init=False)
    handoff: HandoffService = field(init=False)
    # Commune/ward and age group of cases: api/casework/setup.py installs the record reader (api/cases/attributes.py).
    case_records: CaseRecords | None = None
    referral_follow_up: ReferralFollowUp = field(init=False)  # api/casework/setup.py
    # Content (api/content/setup.py).
    retrain_runner: RetrainRunner = field(init=False)
    broadcast_scheduler: BroadcastScheduler = field(init=False)
    # Channels (api/channels/*/service.py).
    telegram_application: Application = field(init=False)  # type: ignore[type-arg]
    zalo_tokens: ZaloTokenStore = field(init=False)
    webchat_mailbox: WebChatMailbox = field(init=False)
    webchat_rate_limiter: RateLimiter = field(init=False)


def app_context(app: FastAPI) -> AppContext:
    return app.state.context  # type: ignore[no-any-return]
