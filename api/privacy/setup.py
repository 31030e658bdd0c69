"""Plugs privacy into the app: the API, the chat hooks (erasure on request, consent records), the
purge and the last step of erasures in the background."""
from __future__ import annotations

from fastapi import FastAPI

from api.context import app_context
from api.privacy.chat import PrivacyHooks
from api.privacy.routes import router
from api.privacy.runtime import PrivacyRuntime


def install_privacy(app: FastAPI) -> None:
    """Call before install_content: "xoá dữ liệu" must be read before a running quiz or the
    subscription words see the message."""
    context = app_context(app)
    runtime = PrivacyRuntime(context.settings, context.crypto, context.user_texts)
    app.state.privacy = runtime
    app.include_router(router)
    context.pipeline_hooks.register(PrivacyHooks(context.crypto, context.user_texts,
                                                 context.settings.erasure_confirm_minutes, runtime.wake_finisher))

    async def start(app: FastAPI) -> PrivacyRuntime:
        runtime.gate = context.write_gate
        return runtime.start()

    context.startup_services.append(start)
