"""Results are kept for the configured time, then the job and its files are deleted."""

from __future__ import annotations

import time

import pytest

from audiosvc import service
from audiosvc.errors import NotFoundError
from audiosvc.jobs import Job, JobStore, new_job_id
from audiosvc.settings import Settings
from audiosvc.storage import Storage


def test_expired_finished_jobs_are_deleted_and_others_kept(service_settings: Settings) -> None:
    assert service_settings.redis_url
    store = JobStore.from_url(service_settings.redis_url)
    storage = Storage(service_settings.jobs_dir)
    day = 24 * 3600
    now = time.time()

    def make(status: str, age: float) -> str:
        job = Job(
            id=new_job_id(),
            status=status,
            created_at=now - age,  # type: ignore[arg-type]
            finished_at=now - age if status == "succeeded" else None,
        )
        store.create(job)
        storage.transcript_path(job.id).parent.mkdir(parents=True, exist_ok=True)
        storage.transcript_path(job.id).write_text("{}")
        return job.id

    old_done, fresh_done, old_running = (
        make("succeeded", 8 * day),
        make("succeeded", 60),
        make("processing", 8 * day),
    )
    gone = service.cleanup_expired(store, storage, ttl=7 * day)
    assert old_done in gone and fresh_done not in gone and old_running not in gone
    with pytest.raises(NotFoundError):
        store.get(old_done)
    assert not storage.job_dir(old_done).exists()
    assert store.get(fresh_done).status == "succeeded" and storage.job_dir(fresh_done).exists()
    assert store.get(old_running).status == "processing"
