from __future__ import annotations

import re
from pathlib import Path

import pytest

from gathering.core.errors import ConfigError
from gathering.core.settings import Settings, documented_settings

REPO = Path(__file__).resolve().parents[2]
SECRET = "a-secret-key-long-enough-for-tests"


def test_settings_defaults_when_environment_is_empty(tmp_path: Path) -> None:
    settings = Settings.from_env({}, workdir=tmp_path)
    assert settings.env == "development"
    assert settings.database_url == "sqlite+aiosqlite:///gathering.db"
    assert settings.port == 8000
    assert settings.timezone == "Europe/London"
    assert settings.migrate_on_start is True


def test_settings_parse_types_from_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "GATHERING_PORT": " 9000 ",
            "GATHERING_MIGRATE_ON_START": "no",
            "GATHERING_SECRET_KEY": SECRET,
            "GATHERING_BASE_URL": "https://gathering.example.org",
        },
        workdir=tmp_path,
    )
    assert (settings.port, settings.migrate_on_start, settings.secret_key) == (9000, False, SECRET)
    assert settings.secure_cookies is True


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = Settings.from_env({}, workdir=tmp_path)
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"GATHERING_PORT": "eighty"}, "GATHERING_PORT must be a whole number, not 'eighty'"),
        ({"GATHERING_PORT": "70000"}, "GATHERING_PORT must be from 1 to 65535, not 70000"),
        ({"GATHERING_DATABASE_URL": "mysql://x/y"}, "GATHERING_DATABASE_URL must start with"),
        ({"GATHERING_DATABASE_URL": "sqlite+aiosqlite:///:memory:"}, "must name a SQLite file"),
        ({"GATHERING_TIMEZONE": "Mars/Olympus"}, "GATHERING_TIMEZONE must be an IANA time zone"),
        ({"GATHERING_MIGRATE_ON_START": "maybe"}, "must be true or false"),
        ({"GATHERING_BASE_URL": "gathering.example.org"}, "GATHERING_BASE_URL must be an http"),
        ({"GATHERING_ENV": "staging"}, "GATHERING_ENV must be development or production"),
        ({"GATHERING_SECRET_KEY": "short"}, "at least 16 characters"),
    ],
)
def test_settings_reject_bad_values_in_one_sentence(
    tmp_path: Path, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ, workdir=tmp_path)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_production_without_secret_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GATHERING_SECRET_KEY or GATHERING_SECRET_KEY_FILE"):
        Settings.from_env({"GATHERING_ENV": "production"}, workdir=tmp_path)
    assert not (tmp_path / ".gathering-secret").exists()


def test_development_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings.from_env({}, workdir=tmp_path).secret_key
    second = Settings.from_env({}, workdir=tmp_path).secret_key
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / ".gathering-secret").read_text().strip() == first
    assert (tmp_path / ".gathering-secret").stat().st_mode & 0o077 == 0


def test_secret_key_file_is_read(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET + "\n")
    settings = Settings.from_env(
        {"GATHERING_ENV": "production", "GATHERING_SECRET_KEY_FILE": str(secret_file)},
        workdir=tmp_path,
    )
    assert settings.secret_key == SECRET


@pytest.mark.parametrize("make", ["missing", "directory", "empty"])
def test_unreadable_secret_key_file_is_one_clear_error(tmp_path: Path, make: str) -> None:
    path = tmp_path / "secret"
    if make == "directory":
        path.mkdir()
    elif make == "empty":
        path.write_text("\n")
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"GATHERING_SECRET_KEY_FILE": str(path)}, workdir=tmp_path)
    assert str(path) in caught.value.message


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(GATHERING_[A-Z_]+)`", readme))
    declared = {name for name, _default, _help in documented_settings()}
    assert declared - documented == set(), "settings missing from the README"
    assert documented - declared - {"GATHERING_TEST_POSTGRES_URL"} == set(), (
        "README names unknown settings"
    )
