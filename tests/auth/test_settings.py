"""Start-up refusals (DESIGN §4 last paragraph, production safety) and the dev user."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.app import create_app
from editai.settings import DEV_SECRET_KEY, Environment, InsecureSettingsError, Settings
from tests.api import Api
from tests.conftest import TEST_JWT_SECRET, TEST_SECRET_KEY, make_settings

PG_URL = "postgresql+asyncpg://editai@127.0.0.1:5432/editai"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets counts: no stray EDITAI_* variables from the shell."""
    for name in list(os.environ):
        if name.startswith("EDITAI_"):
            monkeypatch.delenv(name)


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _production(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "production",
        "database_url": PG_URL,
        "jwt_secret": SecretStr(TEST_JWT_SECRET),
        "secret_key": SecretStr(TEST_SECRET_KEY),
    }
    values.update(overrides)
    return _settings(**values)


@pytest.mark.parametrize("env", ["test", "production"])
def test_auth_disabled_is_refused_outside_development(env: str) -> None:
    settings = _production(env=env, auth_disabled=True)
    with pytest.raises(InsecureSettingsError, match="EDITAI_AUTH_DISABLED"):
        settings.check_startup()
    with pytest.raises(InsecureSettingsError, match="EDITAI_AUTH_DISABLED"):
        create_app(settings)


@pytest.mark.parametrize("env", ["test", "production"])
def test_auth_disabled_from_environment_variables_is_refused(
    env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EDITAI_ENV", env)
    monkeypatch.setenv("EDITAI_AUTH_DISABLED", "true")
    monkeypatch.setenv("EDITAI_DATABASE_URL", PG_URL)
    monkeypatch.setenv("EDITAI_JWT_SECRET", TEST_JWT_SECRET)
    monkeypatch.setenv("EDITAI_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("EDITAI_DATA_DIR", str(tmp_path))
    settings = _settings()
    assert settings.auth_disabled is True
    assert settings.env is Environment(env)
    with pytest.raises(InsecureSettingsError, match="only allowed when EDITAI_ENV=development"):
        create_app(settings)


def test_production_refuses_the_default_secret_key() -> None:
    settings = _production(secret_key=SecretStr(DEV_SECRET_KEY))
    with pytest.raises(InsecureSettingsError, match="EDITAI_SECRET_KEY must be set"):
        settings.check_startup()
    # The default is what you get when the variable is simply not set.
    with pytest.raises(InsecureSettingsError, match="EDITAI_SECRET_KEY must be set"):
        _settings(env="production", database_url=PG_URL, jwt_secret=TEST_JWT_SECRET).check_startup()


def test_production_refuses_a_short_secret_key() -> None:
    with pytest.raises(InsecureSettingsError, match="at least 32 characters"):
        _production(secret_key=SecretStr("short")).check_startup()


def test_production_refuses_a_missing_jwt_secret() -> None:
    settings = _production(jwt_secret=None)
    with pytest.raises(InsecureSettingsError, match="EDITAI_JWT_SECRET or EDITAI_JWT_JWKS_URL"):
        settings.check_startup()
    with pytest.raises(InsecureSettingsError, match="EDITAI_JWT_SECRET or EDITAI_JWT_JWKS_URL"):
        create_app(settings)
    # Production never invents a secret the way development does.
    assert settings.ensure_dev_jwt_secret() is False
    assert settings.jwt_secret is None


def test_production_refuses_a_short_jwt_secret() -> None:
    with pytest.raises(InsecureSettingsError, match="EDITAI_JWT_SECRET must be at least 32"):
        _production(jwt_secret=SecretStr("too-short")).check_startup()


def test_production_refuses_sqlite() -> None:
    with pytest.raises(InsecureSettingsError, match="PostgreSQL"):
        _production(database_url="sqlite+aiosqlite:///x.db").check_startup()


def test_production_reports_every_problem_at_once() -> None:
    settings = _settings(env="production", auth_disabled=True)
    with pytest.raises(InsecureSettingsError) as info:
        settings.check_startup()
    message = str(info.value)
    for problem in (
        "EDITAI_AUTH_DISABLED",
        "EDITAI_SECRET_KEY",
        "EDITAI_JWT_SECRET or EDITAI_JWT_JWKS_URL",
        "PostgreSQL",
    ):
        assert problem in message


def test_sound_production_settings_start() -> None:
    _production().check_startup()
    _production(jwt_secret=None, jwt_jwks_url="https://x.supabase.co/jwks.json").check_startup()


async def test_auth_disabled_in_development_gives_the_fixed_dev_user(
    engine: AsyncEngine, run_dir: Path
) -> None:
    settings = make_settings(
        run_dir,
        engine.url.render_as_string(hide_password=False),
        env=Environment.development,
        auth_disabled=True,
    )
    settings.check_startup()
    app = create_app(settings, engine=engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            api = Api(c, settings)
            result = await api.gql("{ me { id email } currentProfile { isDefault } }")
            data = result.ok()
            assert data["me"] == {"id": settings.dev_user_id, "email": settings.dev_user_email}
            assert data["currentProfile"]["isDefault"] is True
            project = await api.gql('mutation { createProject(input: {name: "Dev"}) { id } }')
            assert project.ok()["createProject"]["id"]


async def test_auth_enabled_development_still_requires_a_token(
    engine: AsyncEngine, run_dir: Path
) -> None:
    settings = make_settings(
        run_dir, engine.url.render_as_string(hide_password=False), env=Environment.development
    )
    app = create_app(settings, engine=engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            result = await Api(c, settings).gql("{ me { id } }")
            assert result.code == "UNAUTHENTICATED"


def test_allow_list_mode_without_a_manifest_is_refused(tmp_path: Path) -> None:
    settings = _settings(data_dir=tmp_path, persisted_queries_only=True)
    with pytest.raises(InsecureSettingsError, match="EDITAI_PERSISTED_QUERIES_MANIFEST"):
        settings.check_startup()
