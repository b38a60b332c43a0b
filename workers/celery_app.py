"""The Celery app, configured from ``AUDIOSVC_*`` settings (``AUDIOSVC_REDIS_URL``).

Run a worker with ``audiosvc worker`` (or ``celery -A workers.celery_app worker``).
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from audiosvc.jobqueue import configure
from audiosvc.settings import Settings
from audiosvc.storage import private_files

os.environ.setdefault("HF_HUB_OFFLINE", "1")
private_files()  # job files are their owner's alone


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
        # Results (and task states) are stored patiently too: a Redis outage shorter than
        # AUDIOSVC_REDIS_OUTAGE_SECONDS costs a finished task a wait, not an error.
        result_backend_always_retry=True,
        result_backend_max_retries=max(1, math.ceil(settings.redis_outage_seconds)),
        result_backend_max_sleep_between_retries_ms=1000,
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
    lower_priority(int(os.environ.get("AUDIOSVC_WORKER_NICENESS", "0")))


def lower_priority(niceness: int) -> None:
    """A batch-only worker yields the cores to interactive work (audiosvc.runner.niceness).
    Linux with autogroups (the default on desktops and many servers) weighs each session
    against the others before nice values count, and every worker runs in a session of its
    own: so the session's autogroup is lowered too, or nice would change nothing."""
    if niceness <= 0:
        return
    os.nice(niceness)
    # OSError: no autogroups here (or not allowed), and nice alone counts.
    with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as autogroup:
        autogroup.write(str(niceness))
