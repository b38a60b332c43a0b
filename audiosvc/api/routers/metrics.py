"""GET /metrics: every process's recorded metrics and the queues' depth, for Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.concurrency import run_in_threadpool

from audiosvc.api.deps import ServicesDep
from audiosvc.metrics import RedisCollector

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, svc: ServicesDep) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(svc.store.r, svc.queue.depth))
    # The text format the scraper asks for (Prometheus 2 and 3, OpenMetrics).
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    body = await run_in_threadpool(encode, registry)
    return Response(body, media_type=content_type)
