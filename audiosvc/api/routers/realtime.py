"""``/openai/v1/realtime``: live sessions over WebSocket, in OpenAI's Realtime protocol.

Keys come as ``Authorization: Bearer`` (the SDKs) or, from browsers, which cannot set
headers, as the subprotocol ``openai-insecure-api-key.<key>`` beside ``realtime``. A refused
key closes the handshake (HTTP 403). A session beyond ``AUDIOSVC_REALTIME_MAX_SESSIONS`` is
accepted only to be told so and closed (1013, try again later); one silent for
``AUDIOSVC_REALTIME_IDLE_SECONDS`` is closed with the reason. Every bad event gets an
``error`` event, and the session goes on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from audiosvc.api.deps import Services, identify
from audiosvc.errors import AuthenticationError
from audiosvc.realtime.engine import EngineLane
from audiosvc.realtime.protocol import (
    ProtocolError,
    SessionType,
    error_event,
    parse_client_event,
)
from audiosvc.realtime.session import LiveSession, protocol_error

log = logging.getLogger("audiosvc.realtime")
router = APIRouter()

_KEY_PROTOCOL = "openai-insecure-api-key."
_lane = EngineLane()  # one per process: the engine runs one call at a time
_open: set[int] = set()  # ids of the sessions open in this process


@router.websocket("/openai/v1/realtime")
async def realtime(ws: WebSocket) -> None:
    svc: Services = ws.app.state.services
    offered: list[str] = list(ws.scope.get("subprotocols") or [])
    token = next((p[len(_KEY_PROTOCOL) :] for p in offered if p.startswith(_KEY_PROTOCOL)), None)
    try:
        identify(ws, svc, token)
    except AuthenticationError as exc:
        await ws.close(code=1008, reason=exc.message[:120])
        return
    await ws.accept(subprotocol="realtime" if "realtime" in offered else None)
    # Every event leaves through one writer task, in order: a cancelled answer can never
    # cut a frame in half, and nothing waits on a slow client but the writer.
    outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def send(message: dict[str, Any]) -> None:
        outbox.put_nowait(message)

    async def write() -> None:
        while (message := await outbox.get()) is not None:
            try:
                await ws.send_text(json.dumps(message))
            except (WebSocketDisconnect, RuntimeError, OSError):
                return  # gone: its session is closing

    writer = asyncio.create_task(write())

    async def flush_and_close(code: int, reason: str) -> None:
        outbox.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer, 5)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await ws.close(code=code, reason=reason)

    settings = svc.settings
    if len(_open) >= settings.realtime_max_sessions:
        await send(
            error_event(
                f"this server holds at most {settings.realtime_max_sessions} live sessions at "
                "once; try again later",
                code="session_limit_reached",
            )
        )
        await flush_and_close(1013, "too many live sessions")
        return
    intent = ws.query_params.get("intent")
    kind: SessionType = "transcription" if intent == "transcription" else "realtime"
    session = LiveSession(kind, settings, send, _lane)
    _open.add(id(session))
    try:
        await session.start()
        while True:
            try:
                frame = await asyncio.wait_for(ws.receive(), timeout=settings.realtime_idle_seconds)
            except TimeoutError:
                seconds = f"{settings.realtime_idle_seconds:g}"
                await send(
                    error_event(
                        f"no event for {seconds} s: the session is closed",
                        code="idle_timeout",
                    )
                )
                await flush_and_close(1000, f"idle for {seconds} s")
                return
            if frame["type"] == "websocket.disconnect":
                return
            text = frame.get("text")
            if text is None:
                text = frame.get("bytes") or b""
            message: dict[str, Any] | None = None
            try:
                message = parse_client_event(text, settings.realtime_max_event_bytes)
                await session.handle(message)
            except ProtocolError as exc:
                await send(protocol_error(exc, message))
    except WebSocketDisconnect:
        pass
    finally:
        _open.discard(id(session))
        await session.close()
        if not writer.done():
            await flush_and_close(1000, "")
