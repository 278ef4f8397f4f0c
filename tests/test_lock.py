"""requirements.lock: every package pinned by hash, in step with pyproject.toml, installed.

scripts/bootstrap.sh installs from the lock with --require-hashes; these checks catch a
dependency added to pyproject.toml without re-running scripts/lock, and a venv that was
not installed from the lock.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>[^\s;\\]+)\s*(?:;\s*(?P<marker>[^\\]+))?"
)


def locked() -> dict[str, tuple[Version, Marker | None, int]]:
    """name -> (version, marker, number of hashes)."""
    pins: dict[str, tuple[Version, Marker | None, int]] = {}
    current: str | None = None
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match["name"])
            marker = Marker(match["marker"].strip()) if match["marker"] else None
            pins[current] = (Version(match["version"]), marker, 0)
        elif line.strip().startswith("--hash=sha256:") and current is not None:
            version, marker, hashes = pins[current]
            pins[current] = (version, marker, hashes + 1)
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    names = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["dev"],
        *project["build-system"]["requires"],
    ]
    return [Requirement(name) for name in names]


def test_every_locked_package_is_pinned_by_hash() -> None:
    pins = locked()
    assert len(pins) > 50
    unhashed = [name for name, (_, _, hashes) in pins.items() if hashes == 0]
    assert unhashed == []


def test_the_lock_satisfies_pyproject() -> None:
    pins = locked()
    missing = []
    for requirement in declared():
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None or not requirement.specifier.contains(pin[0], prereleases=True):
            missing.append(f"{requirement} (locked: {pin[0] if pin else 'nothing'})")
    assert missing == [], "run scripts/lock: " + ", ".join(missing)


def test_the_environment_was_installed_from_the_lock() -> None:
    wrong = []
    for name, (version, marker, _) in locked().items():
        if marker is not None and not marker.evaluate():
            continue
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong.append(f"{name}: locked {version}, installed {installed}")
    assert wrong == [], "run scripts/bootstrap.sh: " + ", ".join(wrong)
