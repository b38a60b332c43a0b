"""Running the service: ``audiosvc serve`` (everything on one machine), ``audiosvc api`` and
``audiosvc worker`` (the parts alone, for scale-out against a shared Redis)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from audiosvc import jobqueue
from audiosvc.errors import AudiosvcError
from audiosvc.jobqueue import LANES, CeleryQueue
from audiosvc.redis_server import EmbeddedRedis, die_with_parent
from audiosvc.settings import Settings
from audiosvc.storage import private_files


def worker_command(
    concurrency: int,
    loglevel: str = "WARNING",
    settings: Settings | None = None,
    lanes: Sequence[str] = LANES,
) -> list[str]:
    """The celery worker command line for ``lanes`` (taken in priority order). The local
    engine is CPU-bound: one process per ``concurrency``. A remote provider is I/O-bound, and
    so is the io lane alone: threads (for a provider, ``max_parallel_requests`` of them,
    sharing one client-side rate limiter)."""
    pool, n = "prefork", concurrency
    if list(lanes) == [jobqueue.IO]:
        pool, n = "threads", max(concurrency, settings.io_threads if settings else 8)
    elif settings is not None and settings.resolved_provider() != "local":
        pool, n = "threads", max(concurrency, settings.max_parallel_requests)
    name = "-".join(lanes)
    return [
        sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
        "--queues", ",".join(lanes),
        "--concurrency", str(n), "--pool", pool, "--loglevel", loglevel,
        "--hostname", f"audiosvc-{name}-{os.getpid()}@{socket.gethostname()}",
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip


# A worker's CPU priority (nice) when it serves the batch lane but not the interactive one.
BATCH_NICENESS = 19


def niceness(lanes: Sequence[str]) -> int:
    """How much a worker for ``lanes`` lowers its CPU priority. A batch-only worker runs at
    the lowest: on a machine it shares with an interactive worker, the kernel gives the cores
    to an interactive request the moment one arrives, and to the batch chunk whenever they
    are otherwise idle. So a request never waits for a long job's chunk to end."""
    return BATCH_NICENESS if jobqueue.BATCH in lanes and jobqueue.INTERACTIVE not in lanes else 0


def default_processes(lanes: Sequence[str]) -> int:
    """A batch-only worker runs one single-threaded process per core: on 2 cores a long job
    took 0.80x the raw engine's time that way, and 1.09x as one process of 2 threads
    (bench/long_job.py; one decode leaves the second core mostly idle). Any other worker runs
    one process with a thread per core, which answers a single request soonest."""
    if list(lanes) == [jobqueue.BATCH]:
        return os.cpu_count() or 1
    return 1


def worker_env(settings: Settings, redis_url: str, lanes: Sequence[str] = LANES) -> dict[str, str]:
    """Environment of a worker process. On 2 cores, -c 1 with 2 threads or -c 2 with 1 each
    is fastest (measured); more threads than cores are slower."""
    env = dict(os.environ, AUDIOSVC_REDIS_URL=redis_url, HF_HUB_OFFLINE="1")
    env["AUDIOSVC_WORKER_NICENESS"] = str(niceness(lanes))
    if "AUDIOSVC_CPU_THREADS" not in os.environ:
        cores = os.cpu_count() or 1
        env["AUDIOSVC_CPU_THREADS"] = str(max(1, cores // max(1, settings.worker_concurrency)))
    return env


def _lock(data_dir: Path) -> IO[bytes]:
    """One embedded Redis per data dir: two servers on one AOF would corrupt it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = (data_dir / ".serve.lock").open("wb")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise AudiosvcError(
            f"another 'audiosvc serve' is using {data_dir}; stop it or set AUDIOSVC_DATA_DIR"
        ) from None
    return handle


def wait_for_worker(
    settings: Settings,
    redis_url: str,
    proc: subprocess.Popen[bytes],
    timeout: float,
    count: int = 1,
) -> bool:
    """Whether ``count`` workers answer within ``timeout`` seconds (False at once if ``proc``
    dies)."""
    queue = CeleryQueue(settings, redis_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if queue.workers(timeout=0.5) >= count:
                return True
        except Exception:  # Redis not reachable (yet): keep trying until the deadline
            time.sleep(0.1)
    return False


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# How `audiosvc serve` lays out its workers, with the processes of each (None: --workers).
SERVE_LAYOUT: tuple[tuple[tuple[str, ...], int | None], ...] = (
    ((jobqueue.INTERACTIVE,), 1),
    ((jobqueue.BATCH,), None),
    ((jobqueue.IO,), 1),
)


def serve(settings: Settings, *, host: str, port: int, workers: int) -> int:
    """Embedded Redis (unless AUDIOSVC_REDIS_URL is set), the API and three workers: one
    process for the interactive lane, ``workers`` processes for the batch lane (at the
    lowest CPU priority, see :func:`niceness`) and io threads. Prints one ready line; Ctrl-C
    stops all of it."""
    import uvicorn

    settings = settings.model_copy(update={"worker_concurrency": workers})
    private_files()  # the data dir, Redis's files and every job's, for this account alone
    lock = _lock(settings.data_dir)
    redis: EmbeddedRedis | None = None
    procs: list[subprocess.Popen[bytes]] = []
    try:
        redis_url = settings.redis_url
        if not redis_url:
            redis = EmbeddedRedis(settings.data_dir / "redis", die_with_parent=True).start()
            redis_url = redis.url
        os.environ["AUDIOSVC_REDIS_URL"] = redis_url
        settings = settings.model_copy(update={"redis_url": redis_url})
        log_path = settings.data_dir / "logs" / "worker.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:  # stdout stays for the ready line alone
            for lanes, processes in SERVE_LAYOUT:
                n = processes or workers
                procs.append(
                    subprocess.Popen(
                        worker_command(n, "INFO", settings, lanes),
                        env=worker_env(
                            settings.model_copy(update={"worker_concurrency": n}),
                            redis_url,
                            lanes,
                        ),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                        preexec_fn=die_with_parent,
                    )
                )
        from audiosvc.api.app import create_app

        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning")
        )

        def announce() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.05)
            ready = wait_for_worker(settings, redis_url, procs[0], 120, count=len(procs))
            where = "embedded redis" if redis else "redis"
            state = f"workers: interactive 1, batch {workers}, io {settings.io_threads} threads"
            if not ready:
                state = "worker not ready yet"
            shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            print(
                f"audiosvc ready: http://{host}:{port} ({where} {redis_url}, {state}; "
                f"worker log {log_path}; Ctrl-C stops)\n"
                f"open http://{shown}:{port}/ in a browser to transcribe a recording",
                flush=True,
            )

        threading.Thread(target=announce, daemon=True).start()
        # uvicorn handles SIGINT/SIGTERM, then re-raises the signal through the handler that
        # was there before it: make SIGTERM, like Ctrl-C, end in the cleanup below instead of
        # killing the process with Redis and the worker still running.
        signal.signal(signal.SIGTERM, _interrupt)
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        return 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # warm shutdown; unfinished chunks requeue
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if redis is not None:
            redis.stop()
        lock.close()


def api(settings: Settings, *, host: str, port: int) -> int:
    import uvicorn

    if not settings.redis_url:
        raise AudiosvcError("set AUDIOSVC_REDIS_URL (or run 'audiosvc serve')")
    from audiosvc.api.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
    return 0


def worker(
    settings: Settings, *, concurrency: int, loglevel: str, lanes: Sequence[str] = LANES
) -> int:
    redis_url = settings.redis_url
    if not redis_url:
        raise AudiosvcError("set AUDIOSVC_REDIS_URL (or run 'audiosvc serve')")
    settings = settings.model_copy(update={"worker_concurrency": concurrency})
    env = worker_env(settings, redis_url, lanes)
    os.execve(sys.executable, worker_command(concurrency, loglevel, settings, lanes), env)
