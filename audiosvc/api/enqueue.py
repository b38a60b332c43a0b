"""The one place audiosvc reaches into ``workers``: putting a job on the queue, and revoking
its queued tasks."""

from __future__ import annotations

from audiosvc.errors import ServiceUnavailableError
from audiosvc.settings import Settings


def bind(settings: Settings) -> None:
    """Send tasks to the Redis in ``settings`` (the API's), whatever the environment says."""
    from workers.celery_app import app, configure

    configure(app, settings)


def enqueue_prepare(job_id: str) -> str:
    from workers.tasks import prepare

    try:
        return str(prepare.apply_async(args=[job_id], retry=True).id)
    except Exception as exc:  # the broker is unreachable
        raise ServiceUnavailableError(
            f"the job queue is unavailable ({type(exc).__name__}); try again"
        ) from exc


def revoke(task_ids: list[str]) -> None:
    if not task_ids:
        return
    from workers.celery_app import app

    app.control.revoke(task_ids)
