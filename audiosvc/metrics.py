"""Operational metrics, shared by every process through Redis, served at ``GET /metrics``.

API and worker processes, on any number of machines, add their samples to one Redis hash
(``HINCRBYFLOAT``: atomic, nothing lost between processes); the API renders the hash in
Prometheus' text format when scraped, with live gauges (queue depth per lane) beside it.
Recording never fails its caller: when Redis is unreachable a sample is lost, not a job. A
process that was never pointed at Redis (the CLI) records nothing. The job store records
into its own Redis (``to=``), so several stores in one process (tests) never mix.

Every metric is declared once, in :data:`METRICS`; recording an undeclared one is a bug.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

log = logging.getLogger("audiosvc.metrics")

KEY = "audiosvc:metrics"
Kind = Literal["counter", "histogram"]


@dataclass(frozen=True)
class Declared:
    kind: Kind
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


_SECONDS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600)
METRICS: dict[str, Declared] = {
    "audiosvc_jobs": Declared(
        "counter", "Jobs that entered each status (queued at creation).", ("status",)
    ),
    "audiosvc_job_errors": Declared("counter", "Failed jobs by error code.", ("code",)),
    "audiosvc_job_seconds": Declared(
        "histogram",
        "Jobs' time from creation to their end, by final status.",
        ("status",),
        _SECONDS,
    ),
    "audiosvc_chunk_seconds": Declared(
        "histogram",
        "Time to transcribe one chunk, by lane and provider.",
        ("lane", "provider"),
        _SECONDS,
    ),
    "audiosvc_audio_seconds": Declared(
        "counter", "Seconds of audio transcribed or translated (overlaps counted once).", ("task",)
    ),
    "audiosvc_provider_requests": Declared(
        "counter",
        "Calls to the speech provider, by provider and outcome (an HTTP status, 'ok' for the "
        "local engine, 'transport' for no answer).",
        ("provider", "status"),
    ),
    "audiosvc_retries": Declared(
        "counter", "Retries under the retry policy, by the call retried.", ("call",)
    ),
    "audiosvc_ratelimit_wait_seconds": Declared(
        "counter", "Seconds spent waiting for the client-side rate limit.", ()
    ),
}

_sink: Any = None  # a redis.Redis, once the process is pointed at one


def record_to(client: Any) -> None:
    """Send this process's samples to ``client`` (a ``redis.Redis``); None stops recording."""
    global _sink
    _sink = client


def _field(name: str, labels: Mapping[str, str]) -> str:
    return name + "|" + json.dumps(dict(sorted(labels.items())), separators=(",", ":"))


def _add(fields: dict[str, float], to: Any = None) -> None:
    client = to if to is not None else _sink
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        for field, value in fields.items():
            pipe.hincrbyfloat(KEY, field, value)
        pipe.execute()
    except Exception as exc:  # Redis trouble costs a sample, never the caller's work
        log.debug("metric not recorded: %s", exc)


def _check(name: str, kind: Kind, labels: Mapping[str, str]) -> Declared:
    declared = METRICS[name]
    if declared.kind != kind or set(labels) != set(declared.labels):
        raise ValueError(f"{name} is a {declared.kind} with labels {declared.labels}")
    return declared


def count(name: str, value: float = 1.0, *, to: Any = None, **labels: str) -> None:
    """Add ``value`` to counter ``name``, in Redis ``to`` (default: this process's)."""
    _check(name, "counter", labels)
    if value:
        _add({_field(name, labels): value}, to)


def observe(name: str, value: float, *, to: Any = None, **labels: str) -> None:
    """One observation of histogram ``name``, in Redis ``to`` (default: this process's)."""
    declared = _check(name, "histogram", labels)
    fields = {_field(name + "_sum", labels): value, _field(name + "_count", labels): 1.0}
    for le in declared.buckets:
        if value <= le:
            fields[_field(name + "_bucket", {**labels, "le": _le(le)})] = 1.0
    _add(fields, to)


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


class RedisCollector(Collector):
    """The recorded metrics, read from Redis at each scrape, and live gauges."""

    def __init__(self, client: Any, depth: Callable[[], Mapping[str, int]]) -> None:
        self.client = client
        self.depth = depth

    def collect(self) -> Iterator[Metric]:
        raw = self.client.hgetall(KEY)
        values: dict[str, list[tuple[dict[str, str], float]]] = {}
        for field, value in raw.items():
            name, _, labels = field.decode().partition("|")
            values.setdefault(name, []).append((json.loads(labels), float(value)))
        for name, declared in METRICS.items():
            if declared.kind == "counter":
                counter = CounterMetricFamily(name, declared.help, labels=declared.labels)
                for labels, value in values.get(name, []):
                    counter.add_metric([labels[k] for k in declared.labels], value)
                yield counter
            else:
                yield _histogram(name, declared, values)
        gauge = GaugeMetricFamily(
            "audiosvc_queue_depth", "Tasks waiting in each lane's queue.", labels=("lane",)
        )
        for lane, n in self.depth().items():
            gauge.add_metric([lane], n)
        yield gauge


def _histogram(
    name: str, declared: Declared, values: Mapping[str, list[tuple[dict[str, str], float]]]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, declared.help, labels=declared.labels)
    series: dict[tuple[str, ...], dict[str, float]] = {}
    for suffix in ("_sum", "_count", "_bucket"):
        for labels, value in values.get(name + suffix, []):
            key = tuple(labels[k] for k in declared.labels)
            part = labels.get("le", suffix)
            series.setdefault(key, {})[part] = value
    for key, parts in sorted(series.items()):
        total = parts.get("_count", 0.0)
        buckets = [(_le(le), parts.get(_le(le), 0.0)) for le in declared.buckets]
        buckets.append(("+Inf", total))
        family.add_metric(list(key), buckets, parts.get("_sum", 0.0))
    return family
