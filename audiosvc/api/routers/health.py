"""GET /healthz: the API, Redis, and how many workers answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from audiosvc.api.deps import ServicesDep

router = APIRouter()


@router.get("/healthz")
async def healthz(svc: ServicesDep) -> JSONResponse:
    body: dict[str, Any] = {"status": "ok", "api": True, "redis": False, "workers": 0}
    try:
        body["redis"] = bool(await run_in_threadpool(svc.store.r.ping))
        body["workers"] = await run_in_threadpool(svc.queue.workers)
    except Exception as exc:
        body["detail"] = f"{type(exc).__name__}: {exc}"
    if not body["redis"]:
        body["status"] = "unavailable"
        return JSONResponse(body, status_code=503)
    if body["workers"] == 0:
        body["status"] = "degraded"  # jobs are accepted and wait for a worker
    return JSONResponse(body)
