"""The lock: every package pinned with hashes, and what is installed is what it pins.

``make test`` installs requirements/lock.txt into a fresh venv; these tests check that the
venv running them holds exactly that (no package the lock does not name, none at another
version), so a green run means the locked set was tested.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "requirements"

# uv installs itself beside the lock (requirements/uv.txt); pip and the project come with
# the venv and from `pip install -e .`.
NOT_IN_LOCK = {"pip", "audiosvc", "uv"}
NEVER = str(Marker("sys_platform == 'never'"))


def _pins(path: Path) -> dict[str, list[tuple[str, Marker | None, int]]]:
    """name -> [(version, marker, number of hashes)] for a uv/pip-compile lock file."""
    entries = re.split(r"\n(?=[A-Za-z0-9])", path.read_text())
    pins: dict[str, list[tuple[str, Marker | None, int]]] = {}
    for entry in entries:
        if entry.startswith("#") or not entry.strip():
            continue
        head = entry.split("\\", 1)[0].strip()
        requirement = Requirement(head)
        if requirement.marker is not None and NEVER in str(requirement.marker):
            continue  # removed by requirements/overrides.txt: installed nowhere
        (spec,) = requirement.specifier
        assert spec.operator == "==", head
        pins.setdefault(canonicalize_name(requirement.name), []).append(
            (spec.version, requirement.marker, entry.count("--hash=sha256:"))
        )
    return pins


@pytest.mark.parametrize("name", ["lock.txt", "runtime.txt", "uv.txt"])
def test_every_package_is_pinned_with_hashes(name: str) -> None:
    pins = _pins(LOCKS / name)
    assert pins
    for package, versions in pins.items():
        for version, _marker, hashes in versions:
            assert hashes >= 1, f"{package}=={version} has no hash"


def test_every_dependency_is_in_the_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    pins = _pins(LOCKS / "lock.txt")
    runtime = _pins(LOCKS / "runtime.txt")
    for line in wanted:
        assert canonicalize_name(Requirement(line).name) in pins, line
    for line in project["dependencies"]:
        assert canonicalize_name(Requirement(line).name) in runtime, line
    # The runtime lock (the Docker image's) is the same versions, not a second resolution
    # (markers may be narrower: tzdata is needed on more platforms by a test dependency).
    for package, versions in runtime.items():
        assert [v for v, _m, _h in versions] == [v for v, _m, _h in pins[package]], package


def test_the_venv_holds_exactly_the_lock() -> None:
    """What runs these tests is what the lock pins for this interpreter, and nothing more."""
    pins = _pins(LOCKS / "lock.txt")
    expected = {
        package: version
        for package, versions in pins.items()
        for version, marker, _hashes in versions
        if marker is None or marker.evaluate()
    }
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    extra = set(installed) - set(expected) - NOT_IN_LOCK
    assert not extra, f"installed but not in the lock: {sorted(extra)}"
    wrong = {p: (installed[p], v) for p, v in expected.items() if installed.get(p) != v}
    assert not wrong, f"installed != locked: {wrong}"


def test_the_image_installs_from_the_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes --no-deps -r requirements/runtime.txt" in dockerfile
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert all("--no-deps" in line for line in installs), installs
