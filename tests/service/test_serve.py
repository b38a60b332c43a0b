"""`audiosvc serve` as a user runs it: one command, one ready line, Ctrl-C stops everything."""

from __future__ import annotations

import base64
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from openai import OpenAI

from audiosvc.media import decode
from audiosvc.realtime.audio import from_engine_rate
from audiosvc.redis_server import free_port
from tests.measures import wer
from tests.service.conftest import SAMPLES
from tests.service.harness import wait_until_done

pytestmark = pytest.mark.engine


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sel.select(timeout=deadline - time.monotonic()):
            return proc.stdout.readline()
    raise TimeoutError("no line from audiosvc serve")


def _live(url: str) -> None:
    pcm = decode(SAMPLES / "short.wav").pcm
    sdk = OpenAI(api_key="unused", base_url=f"{url}/openai/v1")
    with sdk.realtime.connect(extra_query={"intent": "transcription"}) as conn:
        conn.session.update(session={"type": "transcription", "audio": {"input": {
            "transcription": {"language": "en"}, "turn_detection": None}}})  # fmt: skip
        data = from_engine_rate(pcm, "audio/pcm")
        conn.input_audio_buffer.append(audio=base64.b64encode(data).decode())
        conn.input_audio_buffer.commit()
        for event in conn:
            assert event.type != "error", event
            if event.type == "conversation.item.input_audio_transcription.completed":
                assert wer((SAMPLES / "short.txt").read_text(), event.transcript) <= 0.1  # 0.0
                return


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_runs_everything_and_a_signal_stops_it(tmp_path: Path, stop: int) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIOSVC_")}
    env.pop("GROQ_API_KEY", None)
    env.update(AUDIOSVC_DATA_DIR=str(tmp_path / "data"), AUDIOSVC_CPU_THREADS="2")
    proc = subprocess.Popen(
        [sys.executable, "-m", "audiosvc.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = _read_line(proc, 120)
        m = re.match(
            r"audiosvc ready: (http://\S+) \(embedded redis (redis://\S+), workers: "
            r"interactive 1, batch \d+, io 8 threads;",
            line,
        )
        assert m, line
        assert proc.stdout is not None  # the next line came with it, in one write
        assert proc.stdout.readline().startswith(f"open {m.group(1)}/ in a browser")
        children = psutil.Process(proc.pid).children(recursive=True)
        assert any("redis-server" in " ".join(c.cmdline()) for c in children)
        lanes = {
            c.cmdline()[c.cmdline().index("--queues") + 1]
            for c in children
            if "--queues" in c.cmdline()
        }
        # The engine never waits on the network, and a request never waits for a batch chunk:
        # the batch worker's processes run at the lowest CPU priority.
        assert lanes == {"interactive", "batch", "io"}
        for c in psutil.Process(proc.pid).children():  # the workers' main processes
            if "--queues" in c.cmdline():
                lane = c.cmdline()[c.cmdline().index("--queues") + 1]
                pool = c.children(recursive=True)  # prefork processes; the io worker's: none
                assert {p.nice() for p in pool} == {19 if lane == "batch" else 0} or (
                    lane == "io" and not pool
                ), lane
                autogroup = Path(f"/proc/{c.pid}/autogroup")  # Linux: nice counts within it
                if lane == "batch" and autogroup.exists():
                    assert autogroup.read_text().split()[-1] == "19"
        with httpx.Client(base_url=m.group(1), timeout=60) as client:
            assert client.get("/healthz").json() == {
                "status": "ok",
                "api": True,
                "redis": True,
                "workers": 3,
            }
            with (SAMPLES / "short.wav").open("rb") as f:
                job = client.post(
                    "/v1/jobs", files={"file": ("short.wav", f)}, data={"language": "en"}
                ).json()
            assert wait_until_done(client, job["id"])["status"] == "succeeded"
            page = client.get("/")  # the printed address is the web app
            assert page.status_code == 200 and "<title>" in page.text
        if stop == signal.SIGINT:  # live transcription, as the openai SDK does it, once
            _live(m.group(1))
        proc.send_signal(stop)
        assert proc.wait(60) == 0
        for child in children:  # the worker, its pool and redis are gone too
            assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
    finally:
        if proc.poll() is None:  # a failed assertion: still stop it cleanly
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()  # its Redis and worker die with it (PR_SET_PDEATHSIG)
