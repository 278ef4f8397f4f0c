"""The GraphiQL page's third-party files: which npm tarballs, which files in them, and their
digests. Installed by ``python -m editai.graphiql.install`` (scripts/bootstrap.sh runs it),
served by the server itself (graphiql/page.py): the page never loads anything from another
host, so it works offline, behind a proxy, and under a same-origin Content-Security-Policy.

Two pins per file. Each tarball's sha512 ``integrity`` is the one the registry publishes
(``npm view <spec> dist.integrity``) and is checked before the tarball is opened; each
extracted file's sha256 is checked at install and again when the server starts. To upgrade,
change a spec and both digests together (the installer prints what it found when they
differ). graphql-ws needs no entry: graphiql.min.js bundles the client it uses.

Standard library only: the installer runs before anything else is importable.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class AssetFile:
    member: str  # path inside the npm tarball
    name: str  # file name once installed, and in the URL that serves it
    sha256: str


@dataclass(frozen=True, slots=True)
class NpmPackage:
    spec: str  # name@exact-version, as ``npm pack`` takes it
    integrity: str  # "sha512-<base64>" of the tarball, as the registry publishes it
    files: tuple[AssetFile, ...]


PACKAGES: tuple[NpmPackage, ...] = (
    NpmPackage(
        "react@18.2.0",
        "sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==",
        (
            AssetFile(
                "package/umd/react.production.min.js",
                "react.production.min.js",
                "4b4969fa4ef3594324da2c6d78ce8766fbbc2fd121fff395aedf997db0a99a06",
            ),
        ),
    ),
    NpmPackage(
        "react-dom@18.2.0",
        "sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==",
        (
            AssetFile(
                "package/umd/react-dom.production.min.js",
                "react-dom.production.min.js",
                "21758ed084cd0e37e735722ee4f3957ea960628a29dfa6c3ce1a1d47a2d6e4f7",
            ),
        ),
    ),
    NpmPackage(
        "graphiql@3.8.3",
        "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
        (
            AssetFile(
                "package/graphiql.min.js",
                "graphiql.min.js",
                "22faab94067b695e5f7959619fbe686ebcc8955002a0c97d986bcbba4ad4bc2c",
            ),
            AssetFile(
                "package/graphiql.min.css",
                "graphiql.min.css",
                "b1868247f8e0502cd869e581f5f3cb55b334862e7f51b1d6cbace11059b9adc2",
            ),
        ),
    ),
    NpmPackage(
        "@graphiql/plugin-explorer@1.0.2",
        "sha512-9j+kg2UjtLZD5EBmGjeWHkoVVxtbShYg2DzbUVebibnZYZM/iMBEF4vaccXJIAm5KaomIPLx0aoNs4LbODyc3Q==",
        (
            AssetFile(
                "package/dist/index.umd.js",
                "plugin-explorer.umd.js",
                "083e37e501d3e3920a60e627b82191af056009124dce82a332e8ac74db6ca38b",
            ),
            AssetFile(
                "package/dist/style.css",
                "plugin-explorer.css",
                "762850cb69873400d0ab1737c6158aee91f5c38195bc4a30ee02a3c5d5af4e01",
            ),
        ),
    ),
)

ASSET_FILES: tuple[AssetFile, ...] = tuple(f for p in PACKAGES for f in p.files)


def assets_dir() -> Path:
    """Inside the environment editai runs from (the project's .venv), beside its packages."""
    return Path(sys.prefix) / "share" / "editai" / "graphiql"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_pinned(
    folder: Path, files: Iterable[AssetFile] = ASSET_FILES
) -> tuple[dict[str, bytes], list[str]]:
    """The installed files that match their pins (name -> bytes), and one line per file
    that is missing or changed."""
    found: dict[str, bytes] = {}
    wrong = []
    for asset in files:
        path = folder / asset.name
        body = path.read_bytes() if path.is_file() else None
        if body is None:
            wrong.append(f"{path}: missing")
        elif sha256_of(body) != asset.sha256:
            wrong.append(f"{path}: sha256 differs from the pin in editai/graphiql/assets.py")
        else:
            found[asset.name] = body
    return found, wrong


def problems(folder: Path, files: Iterable[AssetFile] = ASSET_FILES) -> list[str]:
    return read_pinned(folder, files)[1]
