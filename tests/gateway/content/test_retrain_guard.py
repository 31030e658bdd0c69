"""One retrain at a time across gateway processes: the guard reads the jobs table, not only the
process's own task; a job its process never finished (a crash) stops blocking after the timeout."""
from __future__ import annotations

from datetime import timedelta

import pytest

from api.content.models import RetrainJob, RetrainStatus
from api.content.retrain import RetrainBusy, RetrainRunner
from api.db.base import utcnow
from api.db.session import Database
from api.settings import Settings


def _job(database: Database, status: RetrainStatus, age: timedelta) -> None:
    with database.transaction() as session:
        session.add(RetrainJob(status=status, stage="…", started_by="lan@example.org", reasons=[],
                               created_at=utcnow() - age))


def test_a_job_running_in_another_process_refuses_a_second(database: Database, settings: Settings) -> None:
    _job(database, RetrainStatus.TRAINING, timedelta(minutes=5))  # another gateway's job, still running
    with pytest.raises(RetrainBusy):
        RetrainRunner(database, settings).start("hoa@example.org")


@pytest.mark.asyncio
async def test_finished_or_abandoned_jobs_do_not_block(database: Database, settings: Settings) -> None:
    _job(database, RetrainStatus.SWAPPED, timedelta(minutes=5))
    _job(database, RetrainStatus.TRAINING, timedelta(seconds=settings.retrain_timeout_seconds + 60))
    quick = settings.model_copy(update={"retrain_command": "false"})  # fails at once: nothing to train here
    runner = RetrainRunner(database, quick)
    job_id = runner.start("hoa@example.org")
    await runner.wait()
    with database.session() as session:
        job = session.get(RetrainJob, job_id)
        assert job is not None and job.status == RetrainStatus.FAILED
