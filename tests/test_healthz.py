"""/healthz asks the workers at most once per interval, however many call it at once."""

from __future__ import annotations

import asyncio
import threading

from audiosvc.api.routers.health import Shared


def test_concurrent_callers_share_one_answer_and_it_is_renewed() -> None:
    asked: list[int] = []
    gate = threading.Event()

    def ask() -> int:  # a worker ping: it holds its thread until the workers answer
        gate.wait(5)
        asked.append(1)
        return len(asked)

    async def main() -> None:
        shared = Shared(ask, ttl=0.2)
        callers = [asyncio.create_task(shared.get()) for _ in range(80)]
        await asyncio.sleep(0.05)
        gate.set()
        assert await asyncio.gather(*callers) == [1] * 80  # 80 calls, one ping
        assert await shared.get() == 1  # within the interval: the same answer
        await asyncio.sleep(0.25)  # the interval is the subject here, not a wait for work
        assert await shared.get() == 2  # after it: asked again

    asyncio.run(main())
    assert len(asked) == 2
