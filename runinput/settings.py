"""Where the Prefect API is and how to authenticate, resolved the way Prefect does."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

DEFAULT_API_URL = "http://127.0.0.1:4200/api"
DEFAULT_TIMEOUT = 60.0

_API_URL = "PREFECT_API_URL"
_API_KEY = "PREFECT_API_KEY"
_AUTH_STRING = "PREFECT_API_AUTH_STRING"
_TIMEOUT = "PREFECT_API_REQUEST_TIMEOUT"
_INSECURE = "PREFECT_API_TLS_INSECURE_SKIP_VERIFY"
_CERT_FILE = "PREFECT_API_SSL_CERT_FILE"


@dataclass(frozen=True)
class Settings:
    """Connection settings: the API URL, credentials and request timeout.

    Build one with `Settings.resolve()`, which applies Prefect's precedence:
    explicit arguments, then `PREFECT_*` environment variables, then the
    active profile in `$PREFECT_HOME/profiles.toml`, then the default URL.
    """

    api_url: str = DEFAULT_API_URL
    api_key: str | None = field(default=None, repr=False)
    auth_string: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    verify_tls: bool = True
    ssl_cert_file: str | None = None
    profile: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def resolve(
        cls,
        api_url: str | None = None,
        api_key: str | None = None,
        auth_string: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Resolve settings from arguments, environment and profile, in that order."""
        env = os.environ if environ is None else environ
        profile_name, profile = load_active_profile(env)
        profile_label = f"profile {profile_name!r}"
        sources: dict[str, str] = {}

        def pick(name: str, explicit: str | None, default: str | None) -> str | None:
            for value, source in (
                (explicit, "argument"),
                (env.get(name), "environment"),
                (profile.get(name), profile_label),
            ):
                if value:
                    sources[name] = source
                    return str(value)
            if default is not None:
                sources[name] = "default"
            return default

        url = pick(_API_URL, api_url, DEFAULT_API_URL)
        timeout = pick(_TIMEOUT, None, str(DEFAULT_TIMEOUT))
        insecure = pick(_INSECURE, None, None)
        return cls(
            api_url=(url or DEFAULT_API_URL).rstrip("/"),
            api_key=pick(_API_KEY, api_key, None),
            auth_string=pick(_AUTH_STRING, auth_string, None),
            timeout=_parse_timeout(timeout),
            verify_tls=(insecure or "").strip().lower() not in ("1", "true", "yes"),
            ssl_cert_file=pick(_CERT_FILE, None, None),
            profile=profile_name if profile_label in sources.values() else None,
            sources=sources,
        )

    @property
    def credentials_kind(self) -> str:
        """The kind of credentials sent: "auth string", "API key" or "none"."""
        if self.auth_string:
            return "auth string"
        if self.api_key:
            return "API key"
        return "none"

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret values that no message, log line or output may contain."""
        values = [self.api_key or "", self.auth_string or ""]
        if self.auth_string and ":" in self.auth_string:
            values.append(self.auth_string.partition(":")[2])
        # A password written into the URL (`https://user:password@host/api`)
        # appears in messages that name the URL, percent-encoded or not.
        url_password = urlsplit(self.api_url).password
        if url_password:
            values.extend([url_password, unquote(url_password)])
        return tuple(value for value in values if value)

    def redact(self, text: str) -> str:
        """Replace every secret in `text` with `***`."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


def prefect_home(environ: Mapping[str, str]) -> Path:
    """The folder that holds Prefect's profiles: `$PREFECT_HOME` or `~/.prefect`."""
    home = environ.get("PREFECT_HOME")
    return Path(home).expanduser() if home else Path.home() / ".prefect"


def profiles_path(environ: Mapping[str, str]) -> Path:
    """The profiles file: `$PREFECT_PROFILES_PATH`, else `profiles.toml` in the home."""
    path_text = environ.get("PREFECT_PROFILES_PATH")
    return Path(path_text) if path_text else prefect_home(environ) / "profiles.toml"


def load_active_profile(
    environ: Mapping[str, str],
) -> tuple[str | None, dict[str, Any]]:
    """Read the active profile's settings from `profiles.toml`.

    `PREFECT_PROFILE` selects the profile; otherwise the file's top-level
    `active` key does. A missing file gives no settings. A file that is not
    valid TOML raises `ValueError` naming the file.
    """
    path = profiles_path(environ)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return environ.get("PREFECT_PROFILE"), {}
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"invalid Prefect profiles file {path}: {exc}") from exc

    name = environ.get("PREFECT_PROFILE") or document.get("active")
    profiles = document.get("profiles", {})
    if not isinstance(name, str) or not isinstance(profiles, dict):
        return None, {}
    table = profiles.get(name, {})
    return name, table if isinstance(table, dict) else {}


def _parse_timeout(text: str | None) -> float:
    try:
        value = float(text or DEFAULT_TIMEOUT)
    except ValueError:
        raise ValueError(
            f"invalid {_TIMEOUT} {text!r}: expected a number of seconds"
        ) from None
    return value if value > 0 else DEFAULT_TIMEOUT
