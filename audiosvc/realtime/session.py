"""One live transcription session: the client's audio as it arrives, turns found by the
server's VAD (or committed by the client), partial transcripts while a turn is spoken and
the final one when it ends, all as Realtime protocol events.

The session is transport-free: the WebSocket route hands it each client event
(:meth:`LiveSession.handle`) and gives it a coroutine to send server events with."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import numpy as np

from audiosvc.errors import AudiosvcError
from audiosvc.media import SAMPLE_RATE
from audiosvc.realtime import audio
from audiosvc.realtime.engine import FINAL, PARTIAL, EngineLane, transcribe_turn
from audiosvc.realtime.partials import agreed, delta
from audiosvc.realtime.protocol import (
    ProtocolError,
    Session,
    SessionType,
    error_event,
    event,
    new_id,
    updated,
    user_item,
)
from audiosvc.realtime.vad import SileroStream, TurnDetector
from audiosvc.realtime.voicebot import Answer, closing_events, failed, respond
from audiosvc.settings import Settings

log = logging.getLogger("audiosvc.realtime")

Send = Callable[[dict[str, Any]], Awaitable[None]]
MIN_COMMIT_MS = 100  # as OpenAI: a commit needs at least this much audio
# A pause this long (3 frames, 96 ms) in a turn starts its final decode at once, on the
# chance that the turn has ended: when the silence window closes, the text is (nearly)
# ready. Speech that resumes drops the guess.
SPECULATE_FRAMES = 3


class StreamResampler:
    """The stream at 16 kHz for the VAD, by linear interpolation that carries its position
    across appends (no drift, no seams). The turn's own audio is resampled exactly, once."""

    def __init__(self, rate: int) -> None:
        self.step = rate / SAMPLE_RATE
        self._tail = np.zeros(0, np.float32)  # the last input sample, for the next piece
        self._pos = 0.0  # next output position, in input samples from the tail's start

    def feed(self, pcm: np.ndarray) -> np.ndarray:
        if self.step == 1:
            return pcm.astype(np.int16, copy=False)
        x = np.concatenate([self._tail, pcm.astype(np.float32)])
        if len(x) < 2:
            self._tail = x
            return np.zeros(0, np.int16)
        positions = np.arange(self._pos, len(x) - 1, self.step)
        out: np.ndarray = np.interp(positions, np.arange(len(x)), x)
        self._pos = (positions[-1] + self.step if len(positions) else self._pos) - (len(x) - 1)
        self._tail = x[-1:]
        return np.round(out).astype(np.int16)


class LiveSession:
    def __init__(self, kind: SessionType, settings: Settings, send: Send, lane: EngineLane) -> None:
        self.config = Session(type=kind)
        self.settings, self._send, self._lane = settings, send, lane
        self._tasks: set[asyncio.Task[None]] = set()
        self._new_stream()
        self._last_item: str | None = None
        # The turn in progress: its item id, once speech started (or audio came, unsegmented).
        self._item: str | None = None
        self._sent = ""  # partial text sent for the turn in progress
        self._previous_partial = ""
        self._partial_due = 0  # ms of the stream at which the next partial decode is due
        self._partial_busy = False
        # Partials re-decode the turn every half second: the local engine's time, but a
        # remote provider's request (and bill) each; with one, turns go when they end.
        self._partials = settings.resolved_provider() == "local"
        # Voice-bot sessions: the answer being said, and what each answer said (truncation).
        self._answer: Answer | None = None
        self._response: asyncio.Task[None] | None = None
        self._said_ms: dict[str, int] = {}
        self._last_transcript: str | None = None
        # The final decode started at a pause, for the turn in progress (see SPECULATE_FRAMES).
        self._guess: asyncio.Future[str] | None = None

    # --- the stream --------------------------------------------------------------------

    def _new_stream(self) -> None:
        fmt = self.config.input.format.type
        self._rate = audio.RATES[fmt]
        self._resampler = StreamResampler(self._rate)
        self._vad: SileroStream | None = None
        vad = self.config.input.turn_detection
        self._turns = (
            TurnDetector(vad.threshold, vad.prefix_padding_ms, vad.silence_duration_ms)
            if vad
            else None
        )
        self._buffer: list[np.ndarray] = []  # native-rate samples not yet committed
        self._buffered = 0
        self._stream_samples = 0  # native samples appended in all (for the events' ms)

    @property
    def _stream_ms(self) -> int:
        return self._stream_samples * 1000 // self._rate

    def _keep_from(self, ms: int) -> None:
        """Drop buffered audio from before ``ms`` of the stream."""
        start = self._stream_samples - self._buffered  # stream sample of the buffer's start
        drop = max(0, ms * self._rate // 1000 - start)
        if drop <= 0:
            return
        pcm = np.concatenate(self._buffer) if self._buffer else np.zeros(0, np.int16)
        pcm = pcm[drop:]
        self._buffer, self._buffered = [pcm], len(pcm)

    # --- client events -----------------------------------------------------------------

    async def start(self) -> None:
        await self._send(event("session.created", session=self.config.shown()))

    async def handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        handler = self._HANDLERS.get(kind)
        if handler is None:
            raise ProtocolError(
                f"unknown event type {kind[:64]!r}", code="unknown_event", param="type"
            )
        if kind.startswith(("response.", "conversation.")) and self.config.type != "realtime":
            raise ProtocolError(
                f"{kind} is for voice-bot sessions; this one transcribes (connect with "
                "?model=... rather than ?intent=transcription for a bot that answers)",
                code="unsupported_in_transcription_session",
                param="type",
            )
        await handler(self, message)

    async def _update(self, message: dict[str, Any]) -> None:
        config = updated(self.config, message.get("session"))
        restream = (
            config.input.format != self.config.input.format
            or config.input.turn_detection != self.config.input.turn_detection
        )
        if restream and self._buffered:
            raise ProtocolError(
                "the audio format or turn detection changes only with an empty buffer: "
                "commit or clear it first",
                param="session.audio.input",
            )
        self.config = config
        if restream:
            self._new_stream()
        await self._send(event("session.updated", session=self.config.shown()))

    async def _append(self, message: dict[str, Any]) -> None:
        data = message.get("audio")
        if not isinstance(data, str):
            raise ProtocolError("audio must be a base64 string", param="audio")
        try:
            raw = base64.b64decode(data, validate=True)
        except binascii.Error:
            raise ProtocolError("audio is not base64", param="audio") from None
        fmt = self.config.input.format.type
        try:
            pcm = audio.samples(raw, fmt)
        except ValueError as exc:
            raise ProtocolError(str(exc), param="audio") from None
        if not len(pcm):
            return
        self._buffer.append(pcm)
        self._buffered += len(pcm)
        self._stream_samples += len(pcm)
        if self._turns is None:
            if self._buffered / self._rate > self.settings.realtime_max_turn_seconds:
                await self._commit_turn(self._item or new_id("item"))
            return
        await self._detect(self._resampler.feed(pcm))

    async def _detect(self, pcm16k: np.ndarray) -> None:
        assert self._turns is not None
        if self._vad is None:
            self._vad = SileroStream()
        for probability in self._vad.feed(pcm16k):
            moment = self._turns.push(probability)
            quiet = self._turns.quiet_frames
            if quiet == SPECULATE_FRAMES and self._guess is None:
                self._guess = self._start_guess()
            elif quiet == 0 and self._guess is not None and self._turns.speaking:
                self._guess.cancel()  # the speaker went on: the guess is not the turn
                self._guess = None
            if moment is None:
                continue
            what, ms = moment
            if what == "started":
                self._item = new_id("item")
                self._sent = self._previous_partial = ""
                self._partial_due = ms + int(self.settings.realtime_partial_seconds * 1000)
                self._keep_from(ms)
                await self._send(
                    event(
                        "input_audio_buffer.speech_started",
                        audio_start_ms=ms,
                        item_id=self._item,
                    )
                )
                vad = self.config.input.turn_detection
                if vad is not None and vad.interrupt_response:
                    await self._cancel_response("turn_detected")  # barge-in
            else:
                item = self._item or new_id("item")
                await self._send(
                    event("input_audio_buffer.speech_stopped", audio_end_ms=ms, item_id=item)
                )
                await self._commit_turn(item)
        if self._turns.speaking:
            if self._buffered / self._rate > self.settings.realtime_max_turn_seconds:
                self._turns.reset()
                await self._commit_turn(self._item or new_id("item"))
            elif (
                self._partials
                and self._guess is None  # in a pause: the final decode may be running
                and self._stream_ms >= self._partial_due
                and not self._partial_busy
                and self._lane.idle  # other sessions' turns first: partials fill gaps only
            ):
                self._partial_due = self._stream_ms + int(
                    self.settings.realtime_partial_seconds * 1000
                )
                self._spawn(self._partial(self._item or ""))
        else:  # between turns: keep only what a turn's prefix padding may need
            vad = self.config.input.turn_detection
            self._keep_from(self._stream_ms - (vad.prefix_padding_ms if vad else 0) - 100)

    async def _commit(self, message: dict[str, Any]) -> None:
        if self._buffered * 1000 // self._rate < MIN_COMMIT_MS:
            raise ProtocolError(
                f"the buffer holds {self._buffered * 1000 // self._rate} ms of audio; a commit "
                f"needs at least {MIN_COMMIT_MS} ms",
                code="input_audio_buffer_commit_empty",
            )
        if self._turns is not None:
            self._turns.reset()
        await self._commit_turn(self._item or new_id("item"))

    async def _clear(self, message: dict[str, Any]) -> None:
        self._buffer, self._buffered, self._item = [], 0, None
        if self._guess is not None:
            self._guess.cancel()
            self._guess = None
        if self._turns is not None:
            self._turns.reset()
        await self._send(event("input_audio_buffer.cleared"))

    async def _response_create(self, message: dict[str, Any]) -> None:
        if self._response is not None and not self._response.done():
            raise ProtocolError(
                "an answer is being said; cancel it first (response.cancel)",
                code="conversation_already_has_active_response",
            )
        if not self._last_transcript:
            raise ProtocolError(
                "there is nothing to answer yet: no turn has been transcribed",
                code="nothing_to_answer",
            )
        self._start_response(self._last_transcript)

    async def _response_cancel(self, message: dict[str, Any]) -> None:
        if not await self._cancel_response("client_cancelled"):
            raise ProtocolError("no answer is being said", code="response_cancel_not_active")

    async def _truncate(self, message: dict[str, Any]) -> None:
        item_id, end = message.get("item_id"), message.get("audio_end_ms")
        if not isinstance(item_id, str) or item_id not in self._said_ms:
            raise ProtocolError("no answer of this session has that item_id", param="item_id")
        if not isinstance(end, int) or not 0 <= end <= self._said_ms[item_id]:
            raise ProtocolError(
                f"audio_end_ms must be 0 to {self._said_ms[item_id]} (the answer's audio)",
                param="audio_end_ms",
            )
        self._said_ms[item_id] = end
        await self._send(
            event("conversation.item.truncated", item_id=item_id, content_index=0, audio_end_ms=end)
        )

    _HANDLERS: ClassVar[dict[str, Callable[[LiveSession, dict[str, Any]], Awaitable[None]]]] = {
        "session.update": _update,
        "input_audio_buffer.append": _append,
        "input_audio_buffer.commit": _commit,
        "input_audio_buffer.clear": _clear,
        "response.create": _response_create,
        "response.cancel": _response_cancel,
        "conversation.item.truncate": _truncate,
    }

    # --- answers (voice-bot sessions) ----------------------------------------------------

    def _start_response(self, transcript: str) -> None:
        self._answer = Answer()
        self._response = asyncio.ensure_future(self._say(self._answer, transcript))
        self._tasks.add(self._response)
        self._response.add_done_callback(self._done)

    async def _say(self, answer: Answer, transcript: str) -> None:
        previous = self._last_item
        self._last_item = answer.item_id
        try:
            await respond(
                answer, transcript, previous, self.config, self.settings, self._send, self._lane
            )
        except AudiosvcError as exc:
            for message in failed(answer, exc):
                await self._send(message)
        finally:
            self._said_ms[answer.item_id] = answer.audio_ms

    async def _cancel_response(self, reason: str) -> bool:
        """Stop the answer being said, at once, and say so; False if there is none."""
        task, answer = self._response, self._answer
        if task is None or task.done() or answer is None:
            return False
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        for message in closing_events(answer, "cancelled", reason):
            await self._send(message)
        return True

    # --- turns -------------------------------------------------------------------------

    async def _commit_turn(self, item_id: str) -> None:
        pcm = np.concatenate(self._buffer) if self._buffer else np.zeros(0, np.int16)
        self._buffer, self._buffered, self._item = [], 0, None
        previous, self._last_item = self._last_item, item_id
        sent, self._sent, self._previous_partial = self._sent, "", ""
        await self._send(
            event("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)
        )
        item = user_item(item_id)
        await self._send(event("conversation.item.added", previous_item_id=previous, item=item))
        await self._send(event("conversation.item.done", previous_item_id=previous, item=item))
        guess, self._guess = self._guess, None
        if self.config.input.transcription is not None:
            turn = audio.to_engine_rate(pcm, self._rate)
            self._spawn(self._final(item_id, turn, sent, guess))
        elif guess is not None:
            guess.cancel()

    def _start_guess(self) -> asyncio.Future[str] | None:
        """The final decode of the turn so far, started now (see SPECULATE_FRAMES)."""
        if self.config.input.transcription is None:
            return None
        turn = audio.to_engine_rate(np.concatenate(self._buffer), self._rate)
        return asyncio.ensure_future(self._lane.run(FINAL, lambda: self._transcribe(turn)))

    async def _final(
        self, item_id: str, pcm: np.ndarray, sent: str, guess: asyncio.Future[str] | None
    ) -> None:
        try:
            if guess is not None:  # decoded at the pause that ended the turn
                text = await guess
            else:
                text = await self._lane.run(FINAL, lambda: self._transcribe(pcm))
        except AudiosvcError as exc:
            await self._send(
                event(
                    "conversation.item.input_audio_transcription.failed",
                    item_id=item_id,
                    content_index=0,
                    error={"type": exc.type, "code": exc.code, "message": exc.message},
                )
            )
            return
        rest = delta(sent, text)
        if rest:
            await self._send(self._delta(item_id, rest))
        await self._send(
            event(
                "conversation.item.input_audio_transcription.completed",
                item_id=item_id,
                content_index=0,
                transcript=text,
                usage={"type": "duration", "seconds": round(len(pcm) / SAMPLE_RATE, 3)},
            )
        )
        if not any(ch.isalnum() for ch in text):
            return
        self._last_transcript = text
        vad = self.config.input.turn_detection
        wanted = self.config.type == "realtime" and vad is not None and vad.create_response
        speaking = self._turns is not None and self._turns.speaking  # a new turn: wait for it
        idle = self._response is None or self._response.done()
        if wanted and not speaking and idle:
            self._start_response(text)

    async def _partial(self, item_id: str) -> None:
        """Decode the turn so far; send what this decode and the last agree on."""
        if self.config.input.transcription is None:
            return
        pcm = np.concatenate(self._buffer) if self._buffer else np.zeros(0, np.int16)
        turn = audio.to_engine_rate(pcm, self._rate)
        self._partial_busy = True
        try:
            text = await self._lane.run(PARTIAL, lambda: self._transcribe(turn))
        except AudiosvcError:
            return  # the final decode reports errors
        finally:
            self._partial_busy = False
        if item_id != self._item:  # the turn ended meanwhile: its final decode speaks
            return
        settled = agreed(self._previous_partial, text)
        self._previous_partial = text
        new = delta(self._sent, settled)
        if new:
            self._sent += new
            await self._send(self._delta(item_id, new))

    def _delta(self, item_id: str, text: str) -> dict[str, Any]:
        return event(
            "conversation.item.input_audio_transcription.delta",
            item_id=item_id,
            content_index=0,
            delta=text,
        )

    def _transcribe(self, pcm: np.ndarray) -> str:
        t = self.config.input.transcription
        return transcribe_turn(
            pcm,
            self.settings,
            self.config.language,
            t.prompt if t else None,
            found_by_vad=self._turns is not None,
        )

    # --- tasks -------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("live session task failed", exc_info=task.exception())

    async def close(self) -> None:
        """Stop everything the session started (its queued engine calls are dropped)."""
        if self._guess is not None:
            self._guess.cancel()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task


def protocol_error(exc: ProtocolError, client_event: dict[str, Any] | None) -> dict[str, Any]:
    event_id = client_event.get("event_id") if client_event else None
    return error_event(
        exc.message,
        code=exc.code,
        param=exc.param,
        client_event_id=event_id if isinstance(event_id, str) else None,
    )
