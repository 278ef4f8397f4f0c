"""``editai token`` mints a token the server accepts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

import editai.settings
from editai.cli import main
from tests.api import Api
from tests.conftest import TEST_JWT_SECRET


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith("EDITAI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("EDITAI_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    editai.settings.get_settings.cache_clear()
    yield tmp_path
    editai.settings.get_settings.cache_clear()


def run_cli(argv: list[str]) -> int:
    # Other fixtures (Alembic's env.py, run while creating the database) may have filled
    # the settings cache after cli_env cleared it: read the environment afresh.
    editai.settings.get_settings.cache_clear()
    return main(argv)


async def test_cli_token_is_accepted_by_the_server(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], api: Api
) -> None:
    monkeypatch.setenv("EDITAI_JWT_SECRET", TEST_JWT_SECRET)
    sub = str(uuid.uuid4())
    capsys.readouterr()  # drop what fixtures printed (the app's start-up log line)
    assert run_cli(["token", "--sub", sub, "--email", "cli@example.test", "--ttl", "600"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.count(".") == 2

    claims = jwt.decode(token, TEST_JWT_SECRET, algorithms=["HS256"], audience="authenticated")
    assert claims["sub"] == sub
    assert claims["exp"] - claims["iat"] == 600

    data = (await api.gql("{ me { id email } currentProfile { isDefault } }", token=token)).ok()
    assert data["me"] == {"id": sub, "email": "cli@example.test"}
    assert data["currentProfile"]["isDefault"] is True


async def test_cli_token_signed_with_another_secret_is_refused(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], api: Api
) -> None:
    monkeypatch.setenv("EDITAI_JWT_SECRET", "some-other-deployment-secret-0123456789abcdef")
    capsys.readouterr()
    assert run_cli(["token", "--sub", str(uuid.uuid4())]) == 0
    token = capsys.readouterr().out.strip()
    assert (await api.gql("{ me { id } }", token=token)).code == "UNAUTHENTICATED"


def test_cli_token_rejects_a_non_uuid_sub(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDITAI_JWT_SECRET", TEST_JWT_SECRET)
    assert run_cli(["token", "--sub", "alice"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--sub must be a UUID" in captured.err


def test_cli_token_without_a_secret_outside_development_fails(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDITAI_ENV", "test")
    assert run_cli(["token"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "EDITAI_JWT_SECRET" in captured.err
    assert not (cli_env / "jwt-secret").exists()


def test_cli_token_in_development_uses_the_generated_secret(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["token"]) == 0
    token = capsys.readouterr().out.strip()
    secret_file = cli_env / "jwt-secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    claims = jwt.decode(
        token, secret_file.read_text().strip(), algorithms=["HS256"], audience="authenticated"
    )
    # Default subject: the dev user.
    assert claims["sub"] == editai.settings.Settings(_env_file=None).dev_user_id  # type: ignore[call-arg]
