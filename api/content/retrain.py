"""Background retraining: train with RETRAIN_COMMAND, evaluate the new model and the running one
with ../shared/eval/score.py, and swap it in (PUT /model) only when no figure is worse.

The commands come from settings, so tests run the real flow with small fake commands and servers.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import shlex
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from api.content.model_server import ServedModel
from api.content.models import RetrainJob, RetrainStatus
from api.db.base import utcnow
from api.db.session import Database
from api.settings import Settings
from api.tasks import cancel_and_wait

log = logging.getLogger(__name__)
RETRAIN_LOCK_KEY = 0x5245545241494E  # "RETRAIN": the advisory lock that serialises starting one

# (metric, label, higher is better)
COMPARED_METRICS = (
    ("topic_accuracy", "Độ chính xác chủ đề", True),
    ("topic_macro_f1", "F1 trung bình chủ đề", True),
    ("recall_high_plus", "Nhận ra tình huống nguy cơ cao", True),
    ("recall_imminent", "Nhận ra tình huống khẩn cấp", True),
    ("recall_any_risk", "Nhận ra mọi dấu hiệu nguy cơ", True),
    ("false_alarm_high_plus", "Báo động nhầm mức cao", False),
)
_LOG_TAIL = 4000


def compare(candidate: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Reasons the candidate is worse (empty: not worse on any compared figure)."""
    reasons = []
    for key, label, higher_better in COMPARED_METRICS:
        new, old = candidate.get(key), baseline.get(key)
        if not isinstance(new, (int, float)) or not isinstance(old, (int, float)) or math.isnan(old):
            continue
        if math.isnan(new) or (new < old if higher_better else new > old):
            reasons.append(f"{label} ({key}): mô hình mới {new:.3f}, mô hình đang chạy {old:.3f}")
    if candidate.get("risk_missing", 0) > baseline.get("risk_missing", 0):
        reasons.append(f"Thiếu mức nguy cơ (risk_missing): {candidate['risk_missing']} so với "
                       f"{baseline.get('risk_missing', 0)}")
    return reasons


class RetrainBusy(RuntimeError):
    """A retrain is already running (here or in another gateway process)."""


class RetrainRunner:
    """Runs one retrain at a time in the background and records its progress in RetrainJob."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self.root = Path(settings.repo_root)
        self.served = ServedModel(self._path(settings.served_model_path))
        self._task: asyncio.Task[None] | None = None

    def _path(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else (self.root / path).resolve()

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, started_by: str) -> int:
        """Queue a retrain; RetrainBusy while one runs here or in another gateway process."""
        if self.busy:
            raise RetrainBusy("a retrain is already running")
        with self.database.transaction() as session:
            if session.get_bind().dialect.name == "postgresql":
                # Two gateways asked at the same moment: one of them sees the other's job below.
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RETRAIN_LOCK_KEY})
            if self._running_anywhere(session):
                raise RetrainBusy("a retrain is already running in another gateway process")
            job = RetrainJob(status=RetrainStatus.QUEUED, stage="Đang chờ", started_by=started_by, reasons=[])
            session.add(job)
            session.flush()
            job_id = job.id
        self._task = asyncio.create_task(self._run(job_id))
        return job_id

    def _running_anywhere(self, session: Session) -> bool:
        """A job not finished, started within the retrain timeout (older ones died with their process)."""
        since = utcnow() - timedelta(seconds=self.settings.retrain_timeout_seconds)
        running = (RetrainStatus.QUEUED, RetrainStatus.TRAINING, RetrainStatus.EVALUATING)
        return bool(session.scalar(select(func.count()).select_from(RetrainJob).where(
            RetrainJob.status.in_(running), RetrainJob.created_at >= since)))

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            await cancel_and_wait(self._task)

    def _update(self, job_id: int, **values: Any) -> None:
        with self.database.transaction() as session:
            job = session.get(RetrainJob, job_id)
            if job is not None:
                for key, value in values.items():
                    setattr(job, key, value)

    async def _run(self, job_id: int) -> None:
        try:
            await self._run_steps(job_id)
        except asyncio.CancelledError:
            self._update(job_id, status=RetrainStatus.FAILED, stage="Đã dừng", finished_at=utcnow())
            raise
        except Exception as error:  # noqa: BLE001  (staff must see the failure, not a stuck job)
            log.exception("retrain %s failed", job_id)
            self._update(job_id, status=RetrainStatus.FAILED, stage="Lỗi", reasons=[str(error)[:500]],
                         finished_at=utcnow())

    async def _run_steps(self, job_id: int) -> None:
        models_dir = self._path(self.settings.retrain_models_dir)
        started = time.time()
        self._update(job_id, status=RetrainStatus.TRAINING, progress=10, stage="Đang huấn luyện mô hình mới")
        code, output = await self._shell(self.settings.retrain_command, self.settings.retrain_timeout_seconds)
        self._update(job_id, log_tail=output[-_LOG_TAIL:])
        if code != 0:
            self._update(job_id, status=RetrainStatus.FAILED, stage="Huấn luyện thất bại", finished_at=utcnow(),
                         reasons=[f"Lệnh huấn luyện kết thúc với mã {code}"])
            return
        candidates = [p for p in models_dir.glob("*.tar.gz") if p.stat().st_mtime >= started - 1]
        if not candidates:
            self._update(job_id, status=RetrainStatus.FAILED, stage="Không thấy mô hình mới", finished_at=utcnow(),
                         reasons=[f"Không có tệp mô hình mới trong {models_dir}"])
            return
        model = max(candidates, key=lambda p: p.stat().st_mtime)
        self._update(job_id, status=RetrainStatus.EVALUATING, progress=50, model_path=str(model),
                     stage="Đang đánh giá mô hình đang chạy")
        token = self.settings.rasa_token.get_secret_value()
        baseline = await self._score(self.settings.rasa_url, token)
        self._update(job_id, progress=65, baseline_metrics=baseline, stage="Đang đánh giá mô hình mới")
        candidate = await self._score_candidate(model)
        reasons = compare(candidate, baseline)
        self._update(job_id, progress=90, candidate_metrics=candidate)
        if reasons:
            self._update(job_id, status=RetrainStatus.REFUSED, progress=100, reasons=reasons, finished_at=utcnow(),
                         stage="Không thay: mô hình mới kém hơn ở một số chỉ số")
            return
        await self._swap(model, token)
        self._update(job_id, status=RetrainStatus.SWAPPED, progress=100, finished_at=utcnow(),
                     stage="Đã thay mô hình mới (không kém hơn ở chỉ số nào)")

    async def _shell(self, command: str, timeout: float) -> tuple[int, str]:
        # Its own session: the training run must never share the gateway's process group (a
        # signal meant for it, e.g. Ctrl-C handling inside the trainer, would stop the gateway).
        # The training command finds the inbox exports through INBOX_EXPORT_DIR (Makefile).
        env = {**os.environ, "INBOX_EXPORT_DIR": str(self._path(self.settings.inbox_export_dir))}
        process = await asyncio.create_subprocess_shell(
            command, cwd=self.root, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True, env=env)
        try:
            out, _ = await asyncio.wait_for(process.communicate(), timeout=timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            await process.wait()
            return -1, "timeout"
        return int(process.returncode or 0), out.decode("utf-8", "replace")

    async def _score(self, url: str, token: str) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "metrics.json"
            args = [sys.executable, str(self._path(self.settings.eval_score_script)),
                    str(self._path(self.settings.eval_set_path)), "--url", url, "--json", str(out), "--errors", "0"]
            if token:
                args += ["--token", token]
            process = await asyncio.create_subprocess_exec(*args, cwd=self.root, stdout=asyncio.subprocess.PIPE,
                                                           stderr=asyncio.subprocess.STDOUT)
            output, _ = await asyncio.wait_for(process.communicate(), timeout=1800)
            if process.returncode != 0 or not out.is_file():
                raise RuntimeError(f"Đánh giá thất bại tại {url}: {output.decode('utf-8', 'replace')[-300:]}")
            return json.loads(out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    async def _score_candidate(self, model: Path) -> dict[str, Any]:
        port = self.settings.eval_server_port
        command = self.settings.eval_server_command.format(model=shlex.quote(str(model)), port=port)
        process = await asyncio.create_subprocess_shell(command, cwd=self.root, stdout=asyncio.subprocess.DEVNULL,
                                                        stderr=asyncio.subprocess.DEVNULL, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            await self._wait_until_up(url, process)
            return await self._score(url, "")
        finally:
            if process.returncode is None:
                try:
                    os.killpg(process.pid, 15)
                except ProcessLookupError:
                    pass
                try:
                    await asyncio.wait_for(process.wait(), timeout=20)
                except TimeoutError:
                    os.killpg(process.pid, 9)
                    await process.wait()

    async def _wait_until_up(self, url: str, process: asyncio.subprocess.Process, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                if process.returncode is not None:
                    raise RuntimeError("Máy chủ đánh giá mô hình mới không khởi động được")
                try:
                    if (await http.get(f"{url}/status")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError("Máy chủ đánh giá mô hình mới không sẵn sàng kịp")

    async def _swap(self, model: Path, token: str) -> None:
        if self.settings.model_delivery == "pull":
            fingerprint = await asyncio.to_thread(self.served.publish, model)
            log.info("model %s published: Rasa replicas load it at their next pull", fingerprint[:12])
            return
        params = {"token": token} if token else {}
        async with httpx.AsyncClient(timeout=600) as http:
            answer = await http.put(f"{self.settings.rasa_url}/model", params=params,
                                    json={"model_file": str(model)})
        if answer.status_code >= 300:
            raise RuntimeError(f"Rasa từ chối PUT /model ({answer.status_code})")


def job_out(job: RetrainJob) -> dict[str, Any]:
    return {"id": job.id, "status": job.status, "progress": job.progress, "stage": job.stage,
            "model": Path(job.model_path).name if job.model_path else None,
            "candidate_metrics": job.candidate_metrics, "baseline_metrics": job.baseline_metrics,
            "reasons": job.reasons, "log_tail": job.log_tail, "started_by": job.started_by,
            "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}
