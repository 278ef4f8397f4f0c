"""eSpeak NG's shared library and voice data, from the espeakng-loader wheel, checksummed
(editai/payloads.py) before the library is loaded or its data read."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import espeakng_loader  # type: ignore[import-untyped]

from editai.payloads import verified

DISTRIBUTION = "espeakng-loader"


def _package_dir() -> Path:
    return Path(espeakng_loader.__file__).parent


@lru_cache(maxsize=1)
def espeak_library() -> Path:
    """The verified ``libespeak-ng.so`` (raises ``PayloadError``)."""
    library = Path(espeakng_loader.get_library_path())
    return verified(DISTRIBUTION, _package_dir(), library.relative_to(_package_dir()).as_posix())


@lru_cache(maxsize=1)
def espeak_data() -> Path:
    """The verified ``espeak-ng-data`` folder (raises ``PayloadError``)."""
    data = Path(espeakng_loader.get_data_path())
    return verified(DISTRIBUTION, _package_dir(), data.relative_to(_package_dir()).as_posix())
