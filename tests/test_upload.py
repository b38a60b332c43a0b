"""Streaming multipart parsing: the file goes to disk as it arrives, limits apply at once."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from audiosvc.api.upload import ParsedForm, check_content_length, parse_upload
from audiosvc.errors import InvalidRequestError, TooLargeError
from audiosvc.storage import UploadWriter


def _body(files: dict | None = None, data: dict | None = None) -> tuple[bytes, str]:  # type: ignore[type-arg]
    req = httpx.Request("POST", "http://x", files=files, data=data)
    return req.read(), req.headers["content-type"]


async def _pieces(body: bytes, seed: int = 0) -> AsyncIterator[bytes]:
    rnd = random.Random(seed)
    i = 0
    while i < len(body):
        n = rnd.randint(1, 97)  # tiny pieces: boundaries get split across reads
        yield body[i : i + n]
        i += n


def _parse(body: AsyncIterator[bytes], ctype: str, path: Path, limit: int = 10**9) -> ParsedForm:
    return asyncio.run(parse_upload(body, ctype, lambda _name: UploadWriter(path, limit)))


def test_file_and_repeated_fields(tmp_path: Path) -> None:
    payload = os.urandom(50_000)
    body, ctype = _body(
        files={"file": ("talk.m4a", payload, "audio/mp4")},
        data={"language": "en", "timestamp_granularities[]": ["word", "segment"]},
    )
    form = _parse(_pieces(body), ctype, tmp_path / "upload.m4a")
    assert (tmp_path / "upload.m4a").read_bytes() == payload
    assert form.filename == "talk.m4a" and form.file_content_type == "audio/mp4"
    assert form.fields == {"language": ["en"], "timestamp_granularities[]": ["word", "segment"]}


def test_oversize_stops_and_leaves_no_file(tmp_path: Path) -> None:
    body, ctype = _body(files={"file": ("a.wav", b"\0" * 10_000)})
    with pytest.raises(TooLargeError):
        _parse(_pieces(body), ctype, tmp_path / "u", limit=5_000)
    assert not (tmp_path / "u").exists()
    with pytest.raises(TooLargeError):
        check_content_length(str(2 * 1024**3), 1024**3)
    with pytest.raises(InvalidRequestError):
        check_content_length("lots", 1024)


def test_truncated_body_is_an_error_and_leaves_no_file(tmp_path: Path) -> None:
    body, ctype = _body(files={"file": ("a.wav", os.urandom(20_000))})
    with pytest.raises(InvalidRequestError, match=r"truncated|malformed"):
        _parse(_pieces(body[: len(body) // 2]), ctype, tmp_path / "u")
    assert not (tmp_path / "u").exists()


@pytest.mark.parametrize(
    ("files", "data", "match"),
    [
        ({"file": ("a", b"1"), "other": ("b", b"2")}, None, "unexpected file"),
        (None, {"prompt": "x" * 70_000}, "too long"),
        ({"file": ("a", b"1")}, {"prompt": "x" * 70_000}, "too long"),
    ],
)
def test_rejected_forms(tmp_path: Path, files: dict, data: dict, match: str) -> None:  # type: ignore[type-arg]
    body, ctype = _body(files=files, data=data)
    with pytest.raises(InvalidRequestError, match=match):
        _parse(_pieces(body), ctype, tmp_path / "u")


def test_not_a_form(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="multipart"):
        _parse(_pieces(b"{}"), "application/json", tmp_path / "u")


def _vm_hwm_kb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(x.split()[1] for x in status.splitlines() if x.startswith("VmHWM:")))


def test_a_large_upload_is_never_held_in_memory(tmp_path: Path) -> None:
    """200 MB through the parser: the process's peak memory grows far less than that."""
    head = b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n'
    block = os.urandom(1 << 20)

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(200):
            yield block
        yield b"\r\n--B--\r\n"

    async def stream() -> AsyncIterator[bytes]:
        for b in body():
            yield b

    before = _vm_hwm_kb()
    _parse(stream(), "multipart/form-data; boundary=B", tmp_path / "big")
    assert (tmp_path / "big").stat().st_size == 200 << 20
    assert _vm_hwm_kb() - before < 50 * 1024
