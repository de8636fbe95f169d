"""`runinput config` against the session's Prefect server: sources, profile, secrets.

Credentials checks against a server that requires them are in `test_auth.py`,
and servers that do not answer in `test_unreachable.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

import prefect
import pytest

from tests.cli_process import run_cli
from tests.prefect_server import PrefectServer

pytestmark = pytest.mark.integration

API_KEY = "pnu_k3y-that-must-not-show"


def write_profiles(home: Path, text: str) -> None:
    (home / "profiles.toml").write_text(text, encoding="utf-8")


def test_config_shows_url_source_and_server(prefect_api_url: str) -> None:
    result = run_cli("config")

    assert result.returncode == 0, result.describe()
    lines = result.stdout.splitlines()
    url_line = next(line for line in lines if line.startswith("API URL"))
    assert prefect_api_url in url_line
    assert "environment variable PREFECT_API_URL" in url_line
    server_line = next(line for line in lines if line.startswith("Server"))
    assert f"Prefect {prefect.__version__}, healthy" in server_line
    assert result.stderr == ""


def test_config_json_report(prefect_api_url: str, prefect_environment: Path) -> None:
    result = run_cli("config", "--output", "json")

    assert result.returncode == 0, result.describe()
    report = json.loads(result.stdout)
    assert report["api_url"] == prefect_api_url
    assert report["api_url_source"] == "environment"
    assert report["profile"] is None
    assert report["profiles_path"] == str(prefect_environment / "profiles.toml")
    assert report["credentials"] == {
        "kind": "none",
        "source": None,
        "user": None,
        "unused_api_key": False,
    }
    assert report["timeout"] == 60.0
    assert report["timeout_source"] == "default"
    assert report["server"] == {
        "status": "ok",
        "healthy": True,
        "version": prefect.__version__,
        "message": None,
    }


def test_config_api_url_option_wins(prefect_server: PrefectServer) -> None:
    result = run_cli(
        "--api-url",
        prefect_server.api_url,
        "config",
        env={"PREFECT_API_URL": "http://127.0.0.1:9/api"},
    )

    assert result.returncode == 0, result.describe()
    assert prefect_server.api_url in result.stdout
    assert "--api-url option" in result.stdout
    assert "127.0.0.1:9/" not in result.stdout


def test_config_profile_settings_redacted(
    prefect_server: PrefectServer, prefect_environment: Path
) -> None:
    write_profiles(
        prefect_environment,
        'active = "work"\n'
        "[profiles.work]\n"
        f'PREFECT_API_URL = "{prefect_server.api_url}"\n'
        f'PREFECT_API_KEY = "{API_KEY}"\n'
        'PREFECT_API_REQUEST_TIMEOUT = "12"\n',
    )

    table = run_cli("config")
    as_json = run_cli("config", "-o", "json")
    verbose = run_cli("--verbose", "config")

    assert table.returncode == 0, table.describe()
    assert "profile 'work'" in table.stdout
    profile_line = next(
        line for line in table.stdout.splitlines() if line.startswith("Profile")
    )
    assert "work" in profile_line
    assert str(prefect_environment / "profiles.toml") in profile_line
    assert "API key ***" in table.stdout
    assert "12 s" in table.stdout
    report = json.loads(as_json.stdout)
    assert report["profile"] == "work"
    assert report["profile_found"] is True
    assert report["api_url_source"] == "profile 'work'"
    assert report["credentials"]["kind"] == "API key"
    assert report["credentials"]["source"] == "profile 'work'"
    assert report["timeout"] == 12.0
    assert "DEBUG" in verbose.stderr
    for result in (table, as_json, verbose):
        assert API_KEY not in result.output


def test_config_auth_string_beats_api_key(prefect_api_url: str) -> None:
    result = run_cli(
        "config",
        env={"PREFECT_API_KEY": API_KEY, "PREFECT_API_AUTH_STRING": "me:pw-12345"},
    )

    assert result.returncode == 0, result.describe()
    assert "auth string for user 'me', password ***" in result.stdout
    assert "an API key is set too, but the auth string wins" in result.stdout
    assert API_KEY not in result.output
    assert "pw-12345" not in result.output


def test_config_password_in_url_redacted(prefect_server: PrefectServer) -> None:
    url = prefect_server.api_url.replace("http://", "http://someone:url-pa%24%24@")

    table = run_cli("config", env={"PREFECT_API_URL": url})
    as_json = run_cli("config", "-o", "json", env={"PREFECT_API_URL": url})

    assert table.returncode == 0, table.describe()
    assert "someone:***@" in table.stdout
    assert json.loads(as_json.stdout)["api_url"].startswith("http://someone:***@")
    for result in (table, as_json):
        assert "url-pa" not in result.output


def test_config_unknown_profile_marked(
    prefect_api_url: str, prefect_environment: Path
) -> None:
    write_profiles(prefect_environment, 'active = "work"\n[profiles.work]\n')

    result = run_cli("config", env={"PREFECT_PROFILE": "elsewhere"})

    assert result.returncode == 0, result.describe()
    assert "elsewhere (not in the profiles file)" in result.stdout


def test_config_invalid_profiles_file(prefect_environment: Path) -> None:
    write_profiles(prefect_environment, "active = [unclosed\n")

    result = run_cli("config")

    assert result.returncode == 1, result.describe()
    assert str(prefect_environment / "profiles.toml") in result.stderr
    assert "Traceback" not in result.output


def test_config_url_without_api_suffix_hint(prefect_server: PrefectServer) -> None:
    root_url = prefect_server.api_url.removesuffix("/api")

    result = run_cli("config", env={"PREFECT_API_URL": root_url})

    assert result.returncode == 1, result.describe()
    assert "usually ends in /api" in result.stderr
    assert "Traceback" not in result.output
