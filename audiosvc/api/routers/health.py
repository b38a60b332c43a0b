"""GET /healthz: the API, Redis, and how many workers answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from audiosvc.api.deps import ServicesDep

router = APIRouter()


class Shared:
    """A value asked for at most once per ``ttl`` seconds, however many callers want it at
    once: they wait for the one answer in flight. ``/healthz`` needs no key, and asking the
    workers holds a thread for up to a second; unshared, 80 concurrent calls slowed every
    other request from milliseconds to seconds."""

    def __init__(self, ask: Callable[[], int], ttl: float = 5.0) -> None:
        self.ask = ask
        self.ttl = ttl
        self._lock = asyncio.Lock()
        self._value = 0
        self._at = -float("inf")

    async def get(self) -> int:
        async with self._lock:
            if time.monotonic() - self._at >= self.ttl:
                self._value = await run_in_threadpool(self.ask)
                self._at = time.monotonic()
            return self._value


@router.get("/healthz")
async def healthz(request: Request, svc: ServicesDep) -> JSONResponse:
    body: dict[str, Any] = {"status": "ok", "api": True, "redis": False, "workers": 0}
    workers: Shared = request.app.state.workers
    try:
        body["redis"] = bool(await run_in_threadpool(svc.store.r.ping))
        body["workers"] = await workers.get()
    except Exception as exc:
        body["detail"] = f"{type(exc).__name__}: {exc}"
    if not body["redis"]:
        body["status"] = "unavailable"
        return JSONResponse(body, status_code=503)
    if body["workers"] == 0:
        body["status"] = "degraded"  # jobs are accepted and wait for a worker
    return JSONResponse(body)
