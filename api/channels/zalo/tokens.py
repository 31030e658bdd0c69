"""The OA access token: stored encrypted, refreshed ahead of expiry, one refresher at a time.

Zalo's refresh token is single-use: a second refresh with the same token fails and, if the new
pair were lost, the OA would need re-authorising by hand. So a refresh happens only while holding
the token row's lock (SELECT ... FOR UPDATE on PostgreSQL, the write lock on SQLite) plus an
asyncio lock in this process, and the new pair is committed before anyone uses it.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from api.channels.zalo.client import TokenPair, ZaloAuthError, ZaloClient
from api.channels.zalo.models import ZaloOaToken, as_utc
from api.db.base import utcnow
from api.db.gate import WriteGate
from api.security.crypto import Crypto

log = logging.getLogger(__name__)

# The configured first pair comes without an expiry: trust it this long, then refresh it.
SEED_TOKEN_TRUST = timedelta(hours=3)
REFRESH_MARGIN = timedelta(hours=1)
LOCK_WAIT_SECONDS = 60.0
LOCK_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class SeedPair:
    app_id: str
    access_token: str
    refresh_token: str

    @property
    def fingerprint(self) -> str:
        material = f"{self.app_id}\0{self.access_token}\0{self.refresh_token}".encode()
        return hashlib.sha256(material).hexdigest()


class ZaloTokenStore:
    """Hands out a valid OA access token; refreshes it when close to expiry or rejected."""

    def __init__(
        self,
        gate: WriteGate,
        client: ZaloClient,
        crypto: Crypto,
        seed: SeedPair,
        *,
        refresh_margin: timedelta = REFRESH_MARGIN,
    ) -> None:
        self._gate = gate
        self._client = client
        self._crypto = crypto
        self._seed = seed
        self._margin = refresh_margin
        self._lock = asyncio.Lock()

    async def access_token(self) -> str:
        """A token to send with; refreshed first when it expires within the margin."""
        pair = await self.current_pair()
        if pair.expires_at - utcnow() <= self._margin:
            try:
                pair = await self._refresh(stale_access_token=None)
            except ZaloAuthError as exc:
                if pair.expires_at <= utcnow():
                    raise
                # Refreshing early failed; the current token still works for a while, use it.
                log.warning("zalo: early token refresh failed (%s); using the current token", exc)
        return pair.access_token

    async def refresh_rejected(self, rejected_access_token: str) -> str:
        """Zalo said this token is invalid or expired: refresh, unless another worker already did."""
        pair = await self._refresh(stale_access_token=rejected_access_token)
        return pair.access_token

    async def current_pair(self) -> TokenPair:
        with self._gate.database.session() as session:
            row = session.get(ZaloOaToken, self._seed.app_id)
            if row is not None and row.seed_fingerprint == self._seed.fingerprint:
                return self._decode(row)
        return await self._locked(self._seed_if_needed)

    # --- internals ----------------------------------------------------------------------

    async def _refresh(self, stale_access_token: str | None) -> TokenPair:
        async with self._lock:
            await self.current_pair()  # make sure a row exists to lock

            async def refresh_if_still_needed(session: Session, row: ZaloOaToken | None) -> TokenPair:
                if row is None:
                    raise RuntimeError("zalo token row missing")
                current = self._decode(row)
                if stale_access_token is not None and current.access_token != stale_access_token:
                    return current  # another replica refreshed since this token was handed out
                if stale_access_token is None and current.expires_at - utcnow() > self._margin:
                    return current  # another replica refreshed while we waited for the lock
                new_pair = await self._client.refresh_tokens(current.refresh_token)
                self._write(row, new_pair)
                row.refresh_count = (row.refresh_count or 0) + 1
                return new_pair

            pair = await self._locked(refresh_if_still_needed)
            if pair.access_token != stale_access_token:
                log.info("zalo: access token valid until %s", pair.expires_at.isoformat())
            return pair

    async def _locked(self, work: Callable[[Session, ZaloOaToken | None], Awaitable[TokenPair]]) -> TokenPair:
        """Run `work(session, row)` in one transaction holding the token row's lock; the new pair
        is committed when this returns. Waits for another replica's lock without blocking the loop."""
        deadline = asyncio.get_running_loop().time() + LOCK_WAIT_SECONDS
        while True:
            try:
                async with self._gate.transaction() as session:
                    row = self._lock_row(session)
                    return await work(session, row)
            except OperationalError as exc:
                if not _lock_not_available(exc) or asyncio.get_running_loop().time() > deadline:
                    raise
            await asyncio.sleep(LOCK_POLL_SECONDS)

    def _lock_row(self, session: Session) -> ZaloOaToken | None:
        """Take the row lock. On PostgreSQL: SELECT ... FOR UPDATE NOWAIT (polled by _locked, so a
        replica waiting for another's refresh never blocks its event loop). On SQLite the UPDATE
        takes the database write lock before the row is read."""
        if self._gate.database.engine.dialect.name == "sqlite":
            session.execute(
                update(ZaloOaToken)
                .where(ZaloOaToken.app_id == self._seed.app_id)
                .values(lock_version=ZaloOaToken.lock_version + 1)
                .execution_options(synchronize_session=False)
            )
            query = select(ZaloOaToken).where(ZaloOaToken.app_id == self._seed.app_id)
        else:
            query = select(ZaloOaToken).where(ZaloOaToken.app_id == self._seed.app_id).with_for_update(nowait=True)
        return session.scalar(query.execution_options(populate_existing=True))

    async def _seed_if_needed(self, session: Session, row: ZaloOaToken | None) -> TokenPair:
        """First start, or the operator configured a new pair: store the configured pair."""
        if row is not None and row.seed_fingerprint == self._seed.fingerprint:
            return self._decode(row)
        pair = TokenPair(
            access_token=self._seed.access_token,
            refresh_token=self._seed.refresh_token,
            expires_at=utcnow() + SEED_TOKEN_TRUST,
        )
        if row is None:
            row = ZaloOaToken(app_id=self._seed.app_id, seed_fingerprint=self._seed.fingerprint, refresh_count=0)
            self._write(row, pair)
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:
                existing = session.get(ZaloOaToken, self._seed.app_id, populate_existing=True)
                if existing is None:
                    raise
                return self._decode(existing)  # another replica seeded it first
        else:
            log.warning("zalo: the configured token pair changed; replacing the stored pair")
            row.seed_fingerprint = self._seed.fingerprint
            row.refresh_count = 0
            self._write(row, pair)
        return pair

    def _decode(self, row: ZaloOaToken) -> TokenPair:
        return TokenPair(
            access_token=self._crypto.decrypt(row.access_token_encrypted),
            refresh_token=self._crypto.decrypt(row.refresh_token_encrypted),
            expires_at=as_utc(row.expires_at),
        )

    def _write(self, row: ZaloOaToken, pair: TokenPair) -> None:
        row.access_token_encrypted = self._crypto.encrypt(pair.access_token)
        row.refresh_token_encrypted = self._crypto.encrypt(pair.refresh_token)
        row.expires_at = pair.expires_at
        row.updated_at = utcnow()


def _lock_not_available(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "55P03"
