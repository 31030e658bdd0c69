"""SQLite WAL checkpoints in a background thread, so no user-facing commit pays for one.

In WAL mode SQLite copies the log back into the database file (a checkpoint, with a disk sync) inside
whichever commit first finds the log over `wal_autocheckpoint` pages. With the gateway's steady
stream of small commits that was one webhook or worker transaction every few seconds taking about
100 ms instead of 1-2 ms, holding the write gate meanwhile (measured with the gateway benchmark; it
was the whole tail of the webhook ack latency). Here a thread with its own connection runs a
PASSIVE checkpoint every `interval` seconds: it never blocks writers or readers, and the log stays
short, so the automatic checkpoint (kept as a safety net, see session.py) is never reached.
"""
from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)


class WalCheckpointer:
    def __init__(self, path: str, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0

    def start(self) -> WalCheckpointer:
        self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def checkpoint(self, connection: sqlite3.Connection, mode: str = "PASSIVE") -> None:
        connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        self.checkpoints += 1

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self.path, timeout=30, check_same_thread=True)
        except sqlite3.Error:
            log.exception("WAL checkpointer could not open the database; SQLite's own checkpoints remain")
            return
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.checkpoint(connection)
                except sqlite3.Error as exc:  # busy or locked: try again at the next tick
                    log.debug("WAL checkpoint skipped: %s", exc)
            try:  # leave a short log behind on a clean stop
                self.checkpoint(connection, "TRUNCATE")
            except sqlite3.Error as exc:
                log.debug("final WAL checkpoint skipped: %s", exc)
        finally:
            connection.close()
