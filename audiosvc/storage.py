"""Files of jobs under ``data_dir/jobs/<job id>/``: the upload, chunk audio, the transcript.

In scale-out deployments ``data_dir`` is a volume shared by the API and every worker.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from types import TracebackType

from audiosvc.errors import InsufficientStorageError, TooLargeError

_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


# How often (in bytes written) an upload looks at the disk's free space again.
FREE_CHECK_BYTES = 8 * 1024 * 1024


def private_files() -> None:
    """Every file and directory this process creates from now on is its owner's alone (umask
    077): uploads, chunks, transcripts and replies are people's words, and other accounts
    on the machine must not read them. Called by every service process at its start."""
    os.umask(0o077)


def write_text_atomically(path: Path, text: str) -> None:
    """``path`` holds ``text`` whole or not at all; the temporary file is this process's own,
    so two processes writing the same result (a task run twice) do not mix."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


class Storage:
    def __init__(self, root: Path, min_free_bytes: int = 0) -> None:
        self.root = Path(root)
        self.min_free_bytes = min_free_bytes

    def job_dir(self, job_id: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", job_id):
            raise ValueError(f"bad job id {job_id!r}")
        return self.root / job_id

    def upload_path(self, job_id: str, filename: str | None) -> Path:
        """Where an upload is kept. Only a short, safe suffix of the client's name is used."""
        suffix = Path(filename or "").suffix.lower()
        return self.job_dir(job_id) / f"upload{suffix if _SAFE_SUFFIX.match(suffix) else ''}"

    def chunk_path(self, job_id: str, index: int) -> Path:
        return self.job_dir(job_id) / "chunks" / f"{index:05d}.pcm"

    def transcript_path(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "transcript.json"

    def audio_path(self, job_id: str) -> Path:
        """The whole file's 16 kHz PCM, kept for diarization until it is done."""
        return self.job_dir(job_id) / "audio.pcm"

    def speakers_path(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "speakers.json"

    def reference_path(self, job_id: str, index: int) -> Path:
        """A known speaker's reference clip, as sent (decoded when the job diarizes)."""
        return self.job_dir(job_id) / "refs" / f"{index}"

    def reply_path(self, job_id: str, fmt: str) -> Path:
        return self.job_dir(job_id) / f"reply.{fmt}"

    def delete(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def writer(self, path: Path, max_bytes: int) -> UploadWriter:
        return UploadWriter(path, max_bytes, self.min_free_bytes)


class UploadWriter:
    """Writes a stream to ``path`` block by block, never holding it whole, and stops with
    :class:`TooLargeError` as soon as it passes ``max_bytes``, and with
    :class:`InsufficientStorageError` when the disk's free space falls to ``min_free_bytes``
    (checked at the start and every :data:`FREE_CHECK_BYTES`). On any error the partial file
    is removed."""

    def __init__(self, path: Path, max_bytes: int, min_free_bytes: int = 0) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.min_free_bytes = min_free_bytes
        self.size = 0
        self._checked_at = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._check_free()
        self._file = path.open("wb")

    def _check_free(self) -> None:
        if self.min_free_bytes and shutil.disk_usage(self.path.parent).free < self.min_free_bytes:
            raise InsufficientStorageError(
                "the service is short of disk space; try again later", param="file"
            )

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise TooLargeError(f"upload exceeds the limit of {self.max_bytes} bytes", param="file")
        if self.size - self._checked_at >= FREE_CHECK_BYTES:
            self._checked_at = self.size
            self._check_free()
        self._file.write(data)

    def close(self) -> None:
        self._file.close()

    def abort(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> UploadWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
