"""The Celery app, configured from ``AUDIOSVC_*`` settings (``AUDIOSVC_REDIS_URL``).

Run a worker with ``audiosvc worker`` (or ``celery -A workers.celery_app worker``).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from audiosvc.jobqueue import configure
from audiosvc.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def make_app(settings: Settings | None = None) -> Celery:
    settings = settings or Settings()
    app = Celery("audiosvc", include=["workers.tasks"])
    configure(app, settings)
    app.conf.update(
        # A chunk is acknowledged only when done; a killed worker's chunk comes back.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        task_track_started=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


app = make_app()


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    """Models are never created before fork (a CTranslate2 model made in the parent hangs
    in the child): each worker process loads its own, lazily, on first use."""
    from audiosvc.service import reset_process_state

    reset_process_state()
    # A batch-only worker yields the cores to interactive work (audiosvc.runner.niceness).
    niceness = int(os.environ.get("AUDIOSVC_WORKER_NICENESS", "0"))
    if niceness:
        os.nice(niceness)
