"""The engine's time, shared by every live session of this process: one thread runs the
calls, finished turns before partial ones, so partial transcripts never delay a final one.
A turn goes through the same pipeline call as a job's chunk (:func:`pipeline.run_chunk`)."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from audiosvc import pipeline
from audiosvc.chunking import ChunkPlan
from audiosvc.providers.base import TranscribeOptions
from audiosvc.settings import Settings

T = TypeVar("T")

FINAL, PARTIAL = 0, 1


class EngineLane:
    """Calls queued by priority (:data:`FINAL` before :data:`PARTIAL`), run one at a time by
    one worker thread (the engine already uses every core for one call). Each call queued
    adds one turn of the worker, which takes the most urgent call waiting at that moment."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Callable[[], Any], asyncio.Future[Any]]] = []
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-engine")
        self._running = 0

    @property
    def idle(self) -> bool:
        """Nothing running or waiting: a partial decode now delays no one."""
        with self._lock:
            return not self._heap and not self._running

    async def run(self, priority: int, fn: Callable[[], T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        with self._lock:
            heapq.heappush(self._heap, (priority, next(self._order), fn, future))
        self._pool.submit(self._turn)
        return await future

    def _turn(self) -> None:
        with self._lock:
            _, _, fn, future = heapq.heappop(self._heap)
            if future.cancelled():  # its session is gone
                return
            self._running += 1
        try:
            outcome: tuple[Any, BaseException | None] = (fn(), None)
        except BaseException as exc:  # handed to the session, which reports it
            outcome = (None, exc)
        finally:
            with self._lock:
                self._running -= 1
        with contextlib.suppress(RuntimeError):  # its loop has closed: nobody waits
            future.get_loop().call_soon_threadsafe(_settle, future, *outcome)


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


def transcribe_turn(
    pcm: np.ndarray,
    settings: Settings,
    language: str | None,
    prompt: str | None,
    *,
    found_by_vad: bool = False,
) -> str:
    """The text of one turn (16 kHz int16), by the service's configured provider. A turn
    the server's VAD found is speech already: the pipeline's own speech gate (another VAD
    pass, 80 ms on 5 s) is skipped; a client's commit may hold silence, and keeps it."""
    from audiosvc.service import provider_for

    if found_by_vad and settings.speech_gate:
        settings = settings.model_copy(update={"speech_gate": False})
    options = TranscribeOptions(language=language, prompt=prompt, word_timestamps=False, live=True)
    result = pipeline.run_chunk(
        pcm, ChunkPlan(0, 0, len(pcm)), options, provider_for(settings), settings
    )
    return result.text.strip()
