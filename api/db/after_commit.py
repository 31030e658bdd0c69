"""Callbacks that run once a session's transaction commits, never on rollback (e.g. console events,
waking a worker), and savepoints that forget the callbacks queued inside them when rolled back."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_PENDING_KEY = "callbacks_after_commit"


def call_after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once this session's outer transaction commits; never on rollback."""
    pending = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = []
        event.listen(session, "after_commit", _run_pending)
        event.listen(session, "after_transaction_end", _drop_pending)
    pending.append(callback)


def _run_pending(session: Session) -> None:
    callbacks = session.info.get(_PENDING_KEY) or []
    session.info[_PENDING_KEY] = []
    for callback in callbacks:
        callback()


def _drop_pending(session: Session, transaction: Any) -> None:
    # The outer transaction ended without our commit hook running (a rollback): forget the
    # callbacks so they never fire with the session's next commit.
    if transaction.parent is None and transaction.nested is False:
        session.info[_PENDING_KEY] = []


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """`session.begin_nested()` that also forgets the after-commit callbacks queued inside it when
    it is rolled back, so a failed part of a transaction publishes nothing at the outer commit."""
    pending = session.info.get(_PENDING_KEY)
    queued_before = len(pending) if pending is not None else 0
    try:
        with session.begin_nested():
            yield
    except BaseException:
        pending = session.info.get(_PENDING_KEY)
        if pending is not None:
            del pending[queued_before:]
        raise
