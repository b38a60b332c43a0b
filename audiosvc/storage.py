"""Files of jobs under ``data_dir/jobs/<job id>/``: the upload, chunk audio, the transcript.

In scale-out deployments ``data_dir`` is a volume shared by the API and every worker.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from types import TracebackType

from audiosvc.errors import TooLargeError

_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


def private_files() -> None:
    """Every file and directory this process creates from now on is its owner's alone (umask
    077): uploads, chunks, transcripts and replies are people's words, and other accounts
    on the machine must not read them. Called by every service process at its start."""
    os.umask(0o077)


class Storage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

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

    def reply_path(self, job_id: str, fmt: str) -> Path:
        return self.job_dir(job_id) / f"reply.{fmt}"

    def delete(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def writer(self, path: Path, max_bytes: int) -> UploadWriter:
        return UploadWriter(path, max_bytes)


class UploadWriter:
    """Writes a stream to ``path`` block by block, never holding it whole, and stops with
    :class:`TooLargeError` as soon as it passes ``max_bytes``. On any error the partial file
    is removed."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.size = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("wb")

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise TooLargeError(f"upload exceeds the limit of {self.max_bytes} bytes", param="file")
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
