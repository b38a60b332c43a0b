"""The embedded Redis: reachable by this account's processes alone."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
import redis

from audiosvc.redis_server import EmbeddedRedis


def test_it_asks_for_a_password_no_other_account_can_read(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "redis") as server:
        assert redis.Redis.from_url(server.url).ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=server.port).ping()  # any process that can reach 127.0.0.1
        secret = tmp_path / "redis" / "redis.password"
        assert secret.stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "redis" / "redis.conf").stat().st_mode & 0o777 == 0o600
        assert server.process is not None
        assert server.password not in " ".join(psutil.Process(server.process.pid).cmdline())
    # The same data dir, the same password: a restart keeps every client's URL.
    with EmbeddedRedis(tmp_path / "redis") as again:
        assert again.password == server.password and redis.Redis.from_url(again.url).ping()
