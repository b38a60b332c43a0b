"""Streaming ``multipart/form-data`` parsing: the ``file`` part goes straight to disk.

Starlette's own form parsing spools uploads to a temporary file and applies no size limit
until the end; here each block is written to the job's storage as it arrives, and the upload
stops with 413 the moment it passes the limit, so a 1 GB upload never sits in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from audiosvc.errors import InvalidRequestError, TooLargeError
from audiosvc.storage import UploadWriter

_MULTIPART_OVERHEAD = 1024 * 1024  # headers and text fields beside the file


@dataclass
class ParsedForm:
    fields: dict[str, list[str]] = field(default_factory=dict)
    file: UploadWriter | None = None
    filename: str | None = None
    file_content_type: str | None = None


def check_content_length(header: str | None, max_bytes: int) -> None:
    """Refuse an over-limit upload before reading it, when the client says its size."""
    if header is None:
        return
    try:
        length = int(header)
    except ValueError:
        raise InvalidRequestError("bad Content-Length header") from None
    if length > max_bytes + _MULTIPART_OVERHEAD:
        raise TooLargeError(f"upload exceeds the limit of {max_bytes} bytes", param="file")


class _Collector:
    """python-multipart callbacks building a :class:`ParsedForm`."""

    def __init__(
        self,
        open_file: Callable[[str | None], UploadWriter],
        max_field_bytes: int,
        max_fields: int,
        field_limits: Mapping[str, int],
    ) -> None:
        self.form = ParsedForm()
        self.open_file = open_file
        self.max_field_bytes = max_field_bytes
        self.field_limits = field_limits
        self.max_fields = max_fields
        self.headers: dict[bytes, bytes] = {}
        self._hname = b""
        self._hvalue = b""
        self._name: str | None = None
        self._value = bytearray()
        self._writer: UploadWriter | None = None
        self._done = False
        self.error: BaseException | None = None

    # header callbacks
    def on_part_begin(self) -> None:
        self.headers = {}
        self._name, self._writer, self._value = None, None, bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._hname += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._hvalue += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self._hname.strip().lower()] = self._hvalue.strip()
        self._hname, self._hvalue = b"", b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        if not name:
            raise InvalidRequestError("a form part has no name")
        self._name = name
        filename = params.get(b"filename")
        if filename is not None:
            if name != "file":
                raise InvalidRequestError(f"unexpected file in field {name!r}", param=name)
            if self.form.file is not None:
                raise InvalidRequestError("only one file per request", param="file")
            self.form.filename = filename.decode("utf-8", "replace") or None
            ctype = self.headers.get(b"content-type")
            self.form.file_content_type = ctype.decode("latin-1") if ctype else None
            self._writer = self.form.file = self.open_file(self.form.filename)
        elif sum(len(v) for v in self.form.fields.values()) >= self.max_fields:
            raise InvalidRequestError("too many form fields")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._writer is not None:
            self._writer.write(data[start:end])
            return
        self._value += data[start:end]
        if len(self._value) > self.field_limits.get(self._name or "", self.max_field_bytes):
            raise InvalidRequestError(f"field {self._name!r} is too long", param=self._name)

    def on_part_end(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            return
        assert self._name is not None
        try:
            value = self._value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequestError(
                f"field {self._name!r} is not UTF-8", param=self._name
            ) from None
        self.form.fields.setdefault(self._name, []).append(value)

    def on_end(self) -> None:
        self._done = True

    def abort(self) -> None:
        if self.form.file is not None:
            self.form.file.abort()


async def _parse_urlencoded(
    chunks: AsyncIterator[bytes],
    max_field_bytes: int,
    max_fields: int,
    field_limits: Mapping[str, int],
) -> ParsedForm:
    body = bytearray()
    # url-encoding may triple a field's size
    limit = 3 * (max_field_bytes + sum(field_limits.values()))
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise InvalidRequestError("form body too large (fields are too long)")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise InvalidRequestError("form body is not UTF-8") from None
    if len(pairs) > max_fields:
        raise InvalidRequestError("too many form fields")
    form = ParsedForm()
    for name, value in pairs:
        if len(value.encode()) > field_limits.get(name, max_field_bytes):
            raise InvalidRequestError(f"field {name!r} is too long", param=name)
        form.fields.setdefault(name, []).append(value)
    return form


async def parse_upload(
    chunks: AsyncIterator[bytes],
    content_type: str,
    open_file: Callable[[str | None], UploadWriter],
    *,
    max_field_bytes: int = 65536,
    max_fields: int = 100,
    field_limits: Mapping[str, int] | None = None,
) -> ParsedForm:
    """Parse a multipart body as it streams in. The ``file`` part is written through
    ``open_file(filename)``; on any error its partial file is removed. Fields hold at most
    ``max_field_bytes``, those named in ``field_limits`` their own limit."""
    field_limits = field_limits or {}
    ctype, params = parse_options_header(content_type)
    if ctype == b"application/x-www-form-urlencoded":  # fields only, e.g. a url job
        return await _parse_urlencoded(chunks, max_field_bytes, max_fields, field_limits)
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise InvalidRequestError(
            "expected a multipart/form-data (or url-encoded form) body", param="file"
        )
    collector = _Collector(open_file, max_field_bytes, max_fields, field_limits)
    callbacks = {
        name: getattr(collector, name)
        for name in ("on_part_begin", "on_part_data", "on_part_end", "on_header_field",
                     "on_header_value", "on_header_end", "on_headers_finished", "on_end")
    }  # fmt: skip
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in chunks:
            parser.write(chunk)
        parser.finalize()
        if not collector._done:
            raise InvalidRequestError("the multipart body ended early (truncated upload)")
    except MultipartParseError as exc:
        collector.abort()
        raise InvalidRequestError(f"malformed multipart body ({exc})") from None
    except BaseException:
        collector.abort()
        raise
    return collector.form
