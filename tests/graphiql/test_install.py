"""The GraphiQL files installer: nothing lands unless tarball and files match their pins.

Tarballs are built here (npm's shape: files under ``package/``) and handed to the installer
in place of ``npm pack``; the real one ran in scripts/bootstrap.sh (test_page.py checks
what it installed).
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from editai.graphiql import install as installer
from editai.graphiql.assets import AssetFile, NpmPackage
from editai.graphiql.install import InstallError, install

SCRIPT = b"window.Demo = 1;\n"
STYLE = b".demo { color: red }\n"


def tarball(folder: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    path = folder / "demo-1.0.0.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return path


def integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def package(path: Path, *, script_sha: str | None = None) -> NpmPackage:
    return NpmPackage(
        "demo@1.0.0",
        integrity(path),
        (
            AssetFile(
                "package/dist/demo.js", "demo.js", script_sha or hashlib.sha256(SCRIPT).hexdigest()
            ),
            AssetFile("package/demo.css", "demo.css", hashlib.sha256(STYLE).hexdigest()),
        ),
    )


def fetch_of(path: Path) -> installer.Fetch:
    def fetch(spec: str, workdir: Path) -> Path:
        assert spec == "demo@1.0.0"
        assert workdir.is_dir()
        return path

    return fetch


def test_installs_the_listed_files_under_their_pinned_names(tmp_path: Path) -> None:
    built = tarball(
        tmp_path,
        {
            "package/dist/demo.js": SCRIPT,
            "package/demo.css": STYLE,
            "package/../../escaped.js": b"never written",
            "package/extra.js": b"not listed",
        },
    )
    dest = tmp_path / "share" / "graphiql"
    assert install(dest, [package(built)], fetch_of(built)) is True
    assert sorted(p.name for p in dest.iterdir()) == ["demo.css", "demo.js"]
    assert (dest / "demo.js").read_bytes() == SCRIPT
    assert not (tmp_path / "escaped.js").exists()
    assert sorted(p.name for p in dest.parent.iterdir()) == ["graphiql"]  # no leftovers

    def no_fetch(spec: str, workdir: Path) -> Path:
        raise AssertionError("installed files that match their pins are not fetched again")

    assert install(dest, [package(built)], no_fetch) is False


def test_a_tarball_that_is_not_the_pinned_one_is_never_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = tarball(tmp_path, {"package/dist/demo.js": SCRIPT, "package/demo.css": STYLE})
    pinned = package(built)
    (tmp_path / "other").mkdir()
    other = tarball(tmp_path / "other", {"package/dist/demo.js": b"someone else's"})
    opened: list[object] = []
    monkeypatch.setattr(installer.tarfile, "open", lambda *a, **k: opened.append(a))
    dest = tmp_path / "graphiql"
    dest.mkdir()
    (dest / "demo.js").write_bytes(b"the previous install")
    with pytest.raises(InstallError, match="integrity"):
        install(dest, [pinned], fetch_of(other))
    assert opened == []
    assert (dest / "demo.js").read_bytes() == b"the previous install"  # untouched


def test_a_file_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    built = tarball(tmp_path, {"package/dist/demo.js": SCRIPT, "package/demo.css": STYLE})
    dest = tmp_path / "graphiql"
    with pytest.raises(InstallError, match=r"package/dist/demo\.js has sha256"):
        install(dest, [package(built, script_sha="0" * 64)], fetch_of(built))
    assert not dest.exists()
    assert list(tmp_path.glob(".graphiql-*")) == []  # the staging dir is gone too


def test_a_link_in_place_of_a_listed_file_is_refused(tmp_path: Path) -> None:
    built = tarball(
        tmp_path, {"package/demo.css": STYLE}, links={"package/dist/demo.js": "/etc/passwd"}
    )
    with pytest.raises(InstallError, match="not a regular file"):
        install(tmp_path / "graphiql", [package(built)], fetch_of(built))


def test_without_npm_it_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(installer.shutil, "which", lambda _: None)
    monkeypatch.setattr(installer.os, "geteuid", lambda: 1000)  # not root: no apt-get
    assert installer.main(["--dest", str(tmp_path / "graphiql")]) == 1
    assert "apt-get install npm" in capsys.readouterr().err
