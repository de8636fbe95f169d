from pathlib import Path

import pytest

from runinput.settings import DEFAULT_API_URL, Settings


def write_profiles(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "profiles.toml").write_text(text, encoding="utf-8")


def test_resolve_without_anything_uses_default(tmp_path: Path) -> None:
    settings = Settings.resolve(environ={"PREFECT_HOME": str(tmp_path)})

    assert settings.api_url == DEFAULT_API_URL
    assert settings.api_key is None
    assert settings.sources["PREFECT_API_URL"] == "default"


def test_resolve_argument_beats_environment(tmp_path: Path) -> None:
    environ = {
        "PREFECT_HOME": str(tmp_path),
        "PREFECT_API_URL": "http://127.0.0.1:1/api",
    }

    settings = Settings.resolve(api_url="http://127.0.0.1:2/api/", environ=environ)

    assert settings.api_url == "http://127.0.0.1:2/api"
    assert settings.sources["PREFECT_API_URL"] == "argument"


def test_resolve_environment_beats_profile(tmp_path: Path) -> None:
    write_profiles(
        tmp_path,
        'active = "work"\n[profiles.work]\nPREFECT_API_URL = "http://127.0.0.1:3/api"\n',
    )
    environ = {
        "PREFECT_HOME": str(tmp_path),
        "PREFECT_API_URL": "http://127.0.0.1:4/api",
    }

    settings = Settings.resolve(environ=environ)

    assert settings.api_url == "http://127.0.0.1:4/api"
    assert settings.profile is None


def test_resolve_reads_active_profile(tmp_path: Path) -> None:
    write_profiles(
        tmp_path,
        'active = "work"\n'
        '[profiles.work]\nPREFECT_API_URL = "http://127.0.0.1:3/api"\n'
        'PREFECT_API_KEY = "pnu_secret"\n'
        '[profiles.other]\nPREFECT_API_URL = "http://127.0.0.1:5/api"\n',
    )

    settings = Settings.resolve(environ={"PREFECT_HOME": str(tmp_path)})

    assert settings.api_url == "http://127.0.0.1:3/api"
    assert settings.api_key == "pnu_secret"
    assert settings.profile == "work"
    assert settings.sources["PREFECT_API_KEY"] == "profile 'work'"


def test_resolve_prefect_profile_variable_selects_profile(tmp_path: Path) -> None:
    write_profiles(
        tmp_path,
        'active = "work"\n'
        '[profiles.work]\nPREFECT_API_URL = "http://127.0.0.1:3/api"\n'
        '[profiles.other]\nPREFECT_API_URL = "http://127.0.0.1:5/api"\n',
    )
    environ = {"PREFECT_HOME": str(tmp_path), "PREFECT_PROFILE": "other"}

    settings = Settings.resolve(environ=environ)

    assert settings.api_url == "http://127.0.0.1:5/api"
    assert settings.profile == "other"


def test_resolve_invalid_profiles_file_names_it(tmp_path: Path) -> None:
    write_profiles(tmp_path, "active = [unclosed\n")

    with pytest.raises(ValueError, match="profiles.toml"):
        Settings.resolve(environ={"PREFECT_HOME": str(tmp_path)})


def test_resolve_invalid_timeout_names_value(tmp_path: Path) -> None:
    environ = {"PREFECT_HOME": str(tmp_path), "PREFECT_API_REQUEST_TIMEOUT": "soon"}

    with pytest.raises(ValueError, match="'soon'"):
        Settings.resolve(environ=environ)


def test_auth_string_wins_over_api_key() -> None:
    settings = Settings(api_key="key", auth_string="admin:pass")

    assert settings.credentials_kind == "auth string"


def test_redact_hides_key_and_password() -> None:
    settings = Settings(api_key="pnu_123", auth_string="admin:hunter2")

    redacted = settings.redact("key pnu_123 login admin:hunter2 pass hunter2")

    assert "pnu_123" not in redacted
    assert "hunter2" not in redacted
    assert redacted.count("***") == 3


def test_repr_hides_secrets() -> None:
    settings = Settings(api_key="pnu_123", auth_string="admin:hunter2")

    assert "pnu_123" not in repr(settings)
    assert "hunter2" not in repr(settings)
