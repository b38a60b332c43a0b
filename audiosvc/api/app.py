"""The FastAPI application: routers, and the one place errors become HTTP responses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from audiosvc import __version__, service
from audiosvc.api.deps import Services
from audiosvc.api.quota import BudgetHeaders
from audiosvc.api.schemas import document_errors
from audiosvc.api.signing import LinkSigner
from audiosvc.errors import (
    AudiosvcError,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    QuotaExceededError,
    ServiceUnavailableError,
    error_response,
)
from audiosvc.jobqueue import CeleryQueue, JobQueue
from audiosvc.jobs import JobStore
from audiosvc.metrics import record_to
from audiosvc.settings import Settings
from audiosvc.storage import Storage, private_files

log = logging.getLogger("audiosvc.api")


def _json_error(exc: BaseException) -> JSONResponse:
    status, body = error_response(exc)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
    if isinstance(exc, QuotaExceededError):
        headers = exc.headers
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as Groq's ErrorResponse: ``{"error": {message, type, code, param}}``."""

    @app.exception_handler(AudiosvcError)
    async def _ours(_: Request, exc: AudiosvcError) -> JSONResponse:
        return _json_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(x) for x in first.get("loc", ()) if x not in ("body", "query", "path")]
        message = f"{'.'.join(loc) or 'request'}: {first.get('msg', 'invalid value')}"
        return _json_error(InvalidRequestError(message, param=loc[-1] if loc else None))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return _json_error(NotFoundError("no such endpoint"))
        err = AudiosvcError(str(exc.detail), code=f"http_{exc.status_code}")
        err.status = exc.status_code
        err.type = "invalid_request_error"
        return _json_error(err)

    @app.exception_handler(redis.ConnectionError)
    @app.exception_handler(redis.TimeoutError)
    async def _redis_down(_: Request, exc: redis.RedisError) -> JSONResponse:
        # Redis holds the jobs and is the queue's broker: without it nothing can be done now.
        log.warning("redis is unavailable: %s", exc)
        return _json_error(
            ServiceUnavailableError(
                f"the job store is unavailable ({type(exc).__name__}); try again"
            )
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return _json_error(exc)


async def _cleanup_loop(svc: Services) -> None:
    """Delete finished jobs older than the retention time, periodically."""
    while True:
        try:
            gone = await run_in_threadpool(
                service.cleanup_expired, svc.store, svc.storage, svc.settings.result_ttl_seconds
            )
            if gone:
                log.info("deleted %d expired jobs", len(gone))
        except Exception:  # a Redis hiccup must not end the loop
            log.exception("cleanup failed")
        await asyncio.sleep(svc.settings.cleanup_interval_seconds)


def create_app(settings: Settings | None = None, queue: JobQueue | None = None) -> FastAPI:
    """The API over the settings' Redis. ``queue`` is how jobs reach the workers (by default
    Celery on the same Redis)."""
    settings = settings or Settings()
    if not settings.redis_url:
        raise ValueError("create_app needs settings.redis_url")
    private_files()
    store = JobStore.from_url(settings.redis_url)
    record_to(store.r)
    svc = Services(
        settings,
        store,
        Storage(settings.jobs_dir, settings.min_free_bytes),
        queue or CeleryQueue(settings),
        LinkSigner(store.r),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_cleanup_loop(svc))
        try:
            yield
        finally:
            task.cancel()

    # /docs and /redoc with their JavaScript served from here, not a CDN: they work offline
    # and load nothing from a third party.
    # (/redoc is served by the web router: fastapi-offline's loads a logo from a CDN.)
    app = FastAPIOffline(title="audiosvc", version=__version__, lifespan=lifespan, redoc_url=None)
    app.state.services = svc
    fastapis_own = app.openapi
    app.openapi = lambda: document_errors(fastapis_own())  # type: ignore[method-assign]
    from audiosvc.api.routers.health import Shared

    app.state.workers = Shared(svc.queue.workers)  # /healthz's worker count, shared
    install_error_handlers(app)
    app.add_middleware(BudgetHeaders)

    from audiosvc.api.routers import health, jobs, metrics, openai_compat, realtime, web

    app.include_router(jobs.router)
    app.include_router(openai_compat.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(realtime.router)
    web.install(app)
    return app
