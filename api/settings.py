"""One typed settings object for the gateway process (environment or .env)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: str = Field(default="development", description="development | test | production")
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    # Proxies whose X-Forwarded-For is believed (uvicorn's forwarded_allow_ips), so the login limits
    # per client address see the person's address, not the proxy's. "*" when only the proxy can reach us.
    forwarded_allow_ips: str = "127.0.0.1"
    public_base_url: str = "http://127.0.0.1:8000"
    database_url: str = "sqlite:///var/gateway.db"
    # SQLite only (always WAL). FULL (default): every commit is synced to disk before the webhook's 200,
    # so an acknowledged message survives a power cut or an OS crash, not only a gateway restart.
    # NORMAL: commits reach the OS but are synced only at checkpoints; a gateway crash or restart loses
    # nothing, a power cut may lose the last acknowledged messages (the platforms do not resend them).
    # Commits are cheaper (~0.01 ms vs ~0.2 ms on a local SSD), but FULL stays the default for a
    # child-safety service; NORMAL is for disposable/dev databases.
    sqlite_synchronous: str = "FULL"
    # SQLite only: sync commits from a worker thread instead of the event loop. Worth it only on a slow
    # disk (network storage); on an SSD the thread hand-over costs more than the sync itself.
    sqlite_commit_in_thread: bool = False

    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: SecretStr = SecretStr("")
    rasa_timeout_seconds: float = 15.0
    # While messages wait for an unreachable Rasa, probe it this often: they are retried as soon as
    # it answers instead of after their own backoff (up to inbound_retry_max_seconds).
    rasa_recovery_probe_seconds: float = 1.0

    # Pseudonymous ids and encryption at rest. Development gets fixed throwaway values so
    # `make run` needs nothing; production refuses to start without real ones.
    id_hmac_secret: SecretStr = SecretStr("dev-only-id-secret-change-me")
    data_encryption_key: SecretStr = SecretStr("")  # Fernet key(s), comma separated, newest first

    telegram_bot_token: SecretStr = SecretStr("")
    telegram_webhook_secret: SecretStr = SecretStr("")
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_counselor_chat_id: str = ""
    # Counselor-group alerts carry level, category and a console link. true adds an excerpt of the
    # child's message: it then sits on Telegram's servers (a third party abroad), so it stays off
    # unless the service's data protection assessment allows it.
    telegram_alert_excerpt: bool = False

    zalo_app_id: str = ""
    zalo_oa_secret_key: SecretStr = SecretStr("")
    zalo_app_secret: SecretStr = SecretStr("")
    zalo_access_token: SecretStr = SecretStr("")
    zalo_refresh_token: SecretStr = SecretStr("")
    zalo_api_base_url: str = "https://openapi.zalo.me"
    zalo_oauth_base_url: str = "https://oauth.zaloapp.com"

    max_body_bytes: int = 256 * 1024
    worker_concurrency: int = 8
    outbox_max_attempts: int = 8
    # Message path tuning (seconds unless named otherwise).
    run_migrations_on_start: bool = True
    worker_poll_seconds: float = 1.0
    worker_lease_seconds: float = 120.0  # a claim older than this is considered abandoned
    inbound_retry_base_seconds: float = 1.0
    inbound_retry_max_seconds: float = 30.0
    outbox_retry_base_seconds: float = 1.0
    outbox_retry_max_seconds: float = 300.0
    delivery_global_rate_per_second: float = 25.0
    delivery_per_recipient_rate_per_second: float = 1.0
    delivery_per_recipient_burst: int = 3
    telegram_overall_max_rate: float = 30.0  # Bot API: about 30 messages/s per bot (AIORateLimiter)
    shutdown_grace_seconds: float = 10.0  # workers: in-flight messages may finish this long at shutdown
    # uvicorn: open connections (webhooks, console event streams) get this long to close after
    # SIGTERM before they are cut; the workers' grace comes after it.
    timeout_graceful_shutdown_seconds: int = 5

    # Operations (docs/deploy.md "Health, metrics, logs").
    log_format: str = "json"  # json: one JSON object per line | console: readable lines
    log_level: str = "INFO"
    # Bearer token for GET /metrics. Empty: /metrics is open outside production and refused in
    # production (403), so a production scrape always needs the token.
    metrics_token: SecretStr = SecretStr("")
    # /health/ready answers 503 while Rasa does not answer. false: Rasa is still reported, but a
    # gateway stays ready without it (it keeps storing messages and sends the hotline fallback).
    ready_requires_rasa: bool = True

    # Outbox lanes: while replies are being sent, broadcasts get at most this share of the global rate.
    delivery_broadcast_share: float = 0.2
    # Crash recovery: each gateway process records a heartbeat this often; the claims of a process
    # whose heartbeat is older than instance_dead_after_seconds go back to pending.
    instance_heartbeat_seconds: float = 2.0
    instance_dead_after_seconds: float = 6.0

    # Login throttling (api/auth/throttle.py). Limits are written like "20/5 minutes" or "10/second".
    login_limit_per_address: str = "30/5 minutes"  # login attempts from one client address, then 429
    # Login attempts for the whole gateway, then 429. One check costs ~150 ms of CPU (argon2id), so
    # 2/s keeps a flood to a third of a core; a console team logs in far less often.
    login_limit_global: str = "2/second"
    login_failures_before_delay: int = 5  # an email's recent failures before its attempts are slowed
    login_delay_max_seconds: float = 8.0  # the slowdown doubles per failure up to this; never a lockout
    password_hash_threads: int = 1  # threads checking passwords (~100 ms of CPU each)
    # Where rate-limit counters live: empty = this process's memory; a Redis URL (redis://host:6379/1)
    # when several gateway processes run, so the login limits and the delivery rates (per bot, per
    # recipient, broadcast pace) hold across them.
    rate_limit_storage_url: str = ""
    # /docs and /openapi.json: "on", "off", or empty = served only when ENVIRONMENT=development.
    api_docs: Literal["", "on", "off"] = ""
    # Sites allowed to show the web chat (/chat) in a frame, e.g. "https://campaign.example.org";
    # space separated; empty = no site may frame it. Every other page may never be framed.
    chat_frame_ancestors: str = ""

    bootstrap_admin_email: str = ""
    bootstrap_admin_password: SecretStr = SecretStr("")
    session_secret: SecretStr = SecretStr("dev-only-session-secret-change-me")
    access_token_minutes: int = 480
    # Counselor, supervisor and admin accounts must sign in with an authenticator code (TOTP); a
    # login without enrolment leads to enrolment first. Off for development; set true in production.
    two_factor_required: bool = False
    # A counselor counts as online when the console was active this recently.
    counselor_online_seconds: int = 120
    # Cases one counselor holds at once before the handoff text stops promising "ngay" (right away).
    counselor_max_active_cases: int = Field(default=3, ge=1)
    # On-call supervisors for "nobody accepted in time" alerts; empty = the counselor group.
    telegram_supervisor_chat_id: str = ""
    case_notifier_tick_seconds: float = 5.0  # how often overdue cases and failed alerts are re-checked
    # Redis URL when several gateway processes serve consoles (console events cross processes);
    # empty = one process, events stay in memory.
    case_events_redis_url: str = ""

    escalation_minutes_imminent: int = 2
    escalation_minutes_high: int = 10
    office_hours: str = "00:00-24:00"  # counselors' hours, local time, e.g. "07:30-21:30"
    # New-case alerts with an on-call roster (docs/cases-operations.md): those on call first, the
    # supervisors when nobody accepted after this long, everyone after the second delay.
    alert_supervisor_after_seconds: float = Field(default=60.0, ge=0)
    alert_everyone_after_seconds: float = Field(default=180.0, ge=0)
    # The after-chat question ("did it help?") takes an answer for this long after it was asked.
    feedback_answer_hours: int = Field(default=24, ge=1)
    timezone: str = "Asia/Ho_Chi_Minh"

    # Referral e-mails (api/casework): sent through this SMTP server; empty host = no e-mail
    # (the printable referral form still works). How often overdue follow-ups and unsent e-mails are checked.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = ""
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    referral_check_seconds: float = 300.0

    # Content run by campaign staff (responses, inbox, retraining, broadcasts). Paths are relative
    # to repo_root unless absolute.
    repo_root: str = str(Path(__file__).resolve().parents[1])
    domain_path: str = "domain.yml"
    nlu_data_dir: str = "data/nlu"
    # Inbox examples accepted for training are written here, never into data/nlu: they hold
    # children's words and stay out of git. `make train-candidate` (the retrain) reads this folder.
    inbox_export_dir: str = "var/exports"
    nlg_token: SecretStr = SecretStr("")  # when set, /nlg wants ?token= (endpoints.yml nlg.token)
    retrain_command: str = "make train-candidate"  # a new, separate model file each run
    retrain_models_dir: str = "models/candidates"
    # How an approved model reaches Rasa: "put" = PUT /model on RASA_URL (one Rasa process); "pull" =
    # it replaces SERVED_MODEL_PATH, which every replica pulls from GET /api/v1/model (Rasa's model
    # server; each replica started with MODEL_SERVER_URL, see rasa_auth/launch.py).
    model_delivery: Literal["put", "pull"] = "put"
    served_model_path: str = "models/current.tar.gz"  # on storage every gateway shares, with "pull"
    # While Rasa is down, read risk with the learned model of SERVED_MODEL_PATH beside the rules
    # (loaded at start in the background, ~100 MB); false = the rules alone.
    learned_risk_when_rasa_down: bool = True
    eval_set_path: str = "../shared/eval/dev.jsonl"
    eval_score_script: str = "../shared/eval/score.py"
    eval_server_command: str = (
        "env PYTHONPATH=. RASA_TELEMETRY_ENABLED=false "
        ".venv-rasa/bin/rasa run --enable-api --interface 127.0.0.1 --port {port} --model {model}"
    )
    eval_server_port: int = 5006
    retrain_timeout_seconds: int = 3 * 3600
    zalo_reply_window_days: int = 7
    broadcast_poll_seconds: float = 5.0
    broadcast_batch_size: int = 200  # subscribers queued per short transaction while dispatching

    # Privacy (api/privacy, docs/privacy.md): how long each kind of data is kept; 0 keeps it.
    retention_conversation_days: int = 90  # a conversation without a case, after its last message
    retention_closed_case_months: int = 12  # a closed case, then only anonymised statistics remain
    retention_message_rows_days: int = 30  # processed inbound and outbox rows (the message queue)
    retention_delivery_log_days: int = 14  # staff alert and broadcast delivery records
    retention_audit_log_days: int = 730
    purge_interval_seconds: float = 3600.0  # 0: the gateway never purges by itself (only the command line)
    purge_batch_size: int = 500  # rows selected per short transaction
    # Rasa's tracker store, as in TRACKER_STORE_URL (postgresql://, sqlite:/// or redis://), so
    # purges and erasures also delete the conversation's tracker; empty: nothing to delete there.
    purge_tracker_store_url: SecretStr = SecretStr("")
    purge_tracker_redis_key_prefix: str = "tracker:"  # Rasa's RedisTrackerStore keys: prefix + sender id
    erasure_confirm_minutes: int = 15  # how long "đồng ý" confirms an erasure asked for in the chat

    @field_validator("log_format")
    @classmethod
    def _known_log_format(cls, value: str) -> str:
        if value not in ("json", "console"):
            raise ValueError("LOG_FORMAT must be json or console")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value.upper()

    @property
    def api_docs_enabled(self) -> bool:
        return self.api_docs == "on" or (self.api_docs == "" and self.environment == "development")

    @property
    def limits_storage_uri(self) -> str:
        """The `limits` library's storage for counters every process shares (login, delivery rates)."""
        url = self.rate_limit_storage_url.strip()
        return f"async+{url}" if url else "async+memory://"

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token.get_secret_value())

    @property
    def zalo_enabled(self) -> bool:
        return bool(self.zalo_app_id and self.zalo_access_token.get_secret_value())

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.environment == "production":
            missing = [
                name
                for name in ("id_hmac_secret", "data_encryption_key", "session_secret")
                if getattr(self, name).get_secret_value() in ("", "dev-only-id-secret-change-me",
                                                              "dev-only-session-secret-change-me")
            ]
            if self.telegram_enabled and not self.telegram_webhook_secret.get_secret_value():
                missing.append("telegram_webhook_secret")
            if self.zalo_enabled and not self.zalo_oa_secret_key.get_secret_value():
                missing.append("zalo_oa_secret_key")
            if missing:
                raise ValueError("missing secrets for production: " + ", ".join(sorted(missing)).upper())
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
