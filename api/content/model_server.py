"""The model every Rasa replica runs, served by the gateway (Rasa's model server protocol).

Rasa replicas started with `MODEL_SERVER_URL` (rasa_auth.launch) pull GET /api/v1/model every
`MODEL_PULL_SECONDS` with `If-None-Match: <fingerprint>`: 304 while the file is the same, else the
file with its fingerprint as ETag, which they load. A retrain that passes the not-worse guard
replaces the served file (`publish`), so every replica moves to the new model within one pull,
whichever gateway ran the retrain (the file lives on storage all gateways share).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20


@dataclass
class ServedModel:
    path: Path
    _cached: tuple[int, int, str] | None = None  # (mtime_ns, size, fingerprint)

    def fingerprint(self) -> str | None:
        """The file's SHA-256 (hex), recomputed only when its time or size changed; None if absent."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        if self._cached and self._cached[:2] == (stat.st_mtime_ns, stat.st_size):
            return self._cached[2]
        digest = hashlib.sha256()
        with self.path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        self._cached = (stat.st_mtime_ns, stat.st_size, digest.hexdigest())
        return self._cached[2]

    def publish(self, model: Path) -> str:
        """Put `model` in place of the served file atomically (a puller never reads half a file)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".publishing-", suffix=".tar.gz")
        os.close(handle)
        try:
            shutil.copyfile(model, temporary)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        fingerprint = self.fingerprint()
        assert fingerprint is not None
        return fingerprint
