"""The committed ``schema.graphql`` is what the server actually serves (DESIGN §11, Saleor).

Typed clients are generated from the committed file; if it drifts from the code they
are generated against a schema the server does not have.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from editai.graphql.schema import schema_sdl

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "schema.graphql"
EDITAI = Path(sys.executable).parent / "editai"
FIX = "schema.graphql is out of date: run `editai export-schema -o schema.graphql` and commit it"


def _cli_env() -> dict[str, str]:
    # The CLI reads EDITAI_* settings; the exported SDL must not depend on any of them.
    return {k: v for k, v in os.environ.items() if not k.startswith("EDITAI_")}


def test_committed_schema_matches_code() -> None:
    assert COMMITTED.read_text() == schema_sdl(), FIX


def test_export_schema_cli_prints_the_committed_schema(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(EDITAI), "export-schema"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_cli_env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == COMMITTED.read_text(), FIX


def test_export_schema_cli_writes_the_committed_schema(tmp_path: Path) -> None:
    out = tmp_path / "schema.graphql"
    result = subprocess.run(
        [str(EDITAI), "export-schema", "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_cli_env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert out.read_text() == COMMITTED.read_text(), FIX
