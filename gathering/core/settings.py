"""One frozen Settings object, read once from ``GATHERING_*`` environment variables.

Every field carries its environment variable name and a help text; the README's settings table is
checked against this list by a test, so a setting cannot go undocumented.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gathering.core.errors import ConfigError

ENV_PREFIX = "GATHERING_"


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Configuration of one Gathering process; build it with :meth:`from_env`."""

    env: str = _setting(
        "development",
        "`development` or `production`. Production refuses to start without a secret key and "
        "marks cookies Secure when the base URL is https.",
    )
    database_url: str = _setting(
        "sqlite+aiosqlite:///gathering.db",
        "SQLAlchemy URL of the database: `sqlite+aiosqlite:///FILE` (a file, relative to the "
        "working directory) or `postgresql+asyncpg://USER:PASSWORD@HOST:PORT/NAME`.",
    )
    secret_key: str = _setting(
        "",
        "Secret for signing cookies and links. Required in production. In development a random "
        "one is generated once and kept in `.gathering-secret` so sign-ins survive restarts.",
    )
    secret_key_file: str = _setting(
        "",
        "Path of a file holding the secret key (for container secrets); used when "
        "`GATHERING_SECRET_KEY` is empty.",
    )
    base_url: str = _setting(
        "http://127.0.0.1:8000",
        "Public address of the service: every absolute URL (page links, feeds, emails, calendar "
        "UIDs) starts with it, never with the Host header a request claims.",
    )
    host: str = _setting("127.0.0.1", "Address `gathering serve` listens on.")
    port: int = _setting(8000, "Port `gathering serve` listens on (1-65535).")
    forwarded_allow_ips: str = _setting(
        "127.0.0.1",
        "Comma-separated addresses of reverse proxies whose X-Forwarded-For/Proto headers are "
        "trusted (`*` for any, only behind a proxy you control).",
    )
    timezone: str = _setting(
        "Europe/London",
        "IANA time zone given to new gatherings; each gathering keeps its own.",
    )
    migrate_on_start: bool = _setting(
        True, "Bring the database schema to the newest revision when the service starts."
    )
    sqlite_busy_timeout_ms: int = _setting(
        5000,
        "How long a unit of work keeps retrying while another process holds SQLite's lock "
        'before the request is answered 503 "busy, try again" (the service never waits '
        "inside SQLite itself).",
    )
    sqlite_time_limit_ms: int = _setting(
        1000,
        "SQLite: how long one unit of work (a request's reads or its write) may run before its "
        'statement is stopped and the request answered 503 "took too long, try again", so one '
        "slow statement cannot hold every other request (0: no limit). Units that run on a "
        "worker thread (dashboards, whole lists, exports, the purge) get at least 30 seconds.",
    )
    keep_alive_seconds: int = _setting(
        75,
        "Seconds an idle HTTP connection is kept open. Keep it longer than the idle timeout "
        "of any reverse proxy in front (deploy/Caddyfile drops them after 60 s; Caddy's own "
        "default is 2 minutes), or the proxy may reuse a connection the service has just closed "
        "and answer 502.",
    )
    confirm_hours: int = _setting(
        24,
        "Hours a new registration has to confirm its email address; unconfirmed ones then "
        "expire and free their places.",
    )
    offer_hours: int = _setting(
        24,
        "Hours a person offered a freed place from the waiting list has to accept it before it "
        "passes to the next person.",
    )
    unconfirmed_hold_minutes: int = _setting(
        20,
        "Minutes an unconfirmed registration holds its session places. After that they go back "
        "to the waiting list; confirming later still takes a place while any are left.",
    )
    held_registrations_per_client: int = _setting(
        10,
        "Unconfirmed registrations from one network address that hold places at once (within "
        "the hold). More are still registered and take their places when confirmed.",
    )
    registrations_per_client: int = _setting(
        600,
        "Registration form posts accepted from one network address per 10 minutes (a venue's "
        "shared Wi-Fi during a rush stays well under it); past it the form answers 429.",
    )
    registrations_per_recipient: int = _setting(
        10,
        "Registration attempts acted on per email address per hour, over all gatherings; past "
        "it nothing more is registered or mailed for the address (the page answers the same).",
    )
    repeat_mail_minutes: int = _setting(
        60,
        "Registering again with an address already registered mails its owner their link at "
        "most once per this many minutes.",
    )
    undo_minutes: int = _setting(
        5,
        "Minutes during which a person who gave up a place, or cancelled their whole "
        "registration, can undo it from their manage link; the place stays theirs meanwhile and "
        "then goes to the next person waiting.",
    )
    joining_link_minutes: int = _setting(
        30,
        "Minutes before an online or hybrid session starts that each attendee's personal joining "
        "link starts leading to the meeting (and appears in their personal calendar feed).",
    )
    reminder_hours: int = _setting(
        3,
        "Hours before a session that people with a place get a reminder (with the joining "
        "link for online and hybrid sessions).",
    )
    purge_interval_minutes: int = _setting(
        60,
        "Minutes between the service's runs of the retention purge (each gathering's personal "
        "data is erased its set number of days after it ends); the first run is 5 minutes "
        "after start. `0` turns the schedule off, for running `gathering purge` from cron instead.",
    )
    smtp_host: str = _setting(
        "", "SMTP server for outgoing mail. Empty: mail stays in the outbox for admins to read."
    )
    smtp_port: int = _setting(587, "SMTP server port.")
    smtp_username: str = _setting("", "SMTP user name, if the server needs one.")
    smtp_password: str = _setting("", "SMTP password, if the server needs one.")
    smtp_starttls: bool = _setting(True, "Upgrade the SMTP connection with STARTTLS.")
    mail_from: str = _setting(
        "Gathering <gathering@localhost>", "Sender address of every message the service sends."
    )
    fediverse_private_network: bool = _setting(
        False,
        "Let the fediverse code fetch and deliver to plain-http and private or loopback "
        "addresses (tests and closed networks only). Off: only https to public addresses.",
    )
    log_level: str = _setting("info", "Logging level: debug, info, warning or error.")
    password_hash_cost: str = _setting(
        "production",
        "Cost of the argon2 hashes of passwords and steward PINs: `production` (3 passes over "
        "64 MiB) or `test` (1 pass over 8 KiB, for the test suite only; refused when "
        "`GATHERING_ENV=production`).",
    )
    log_reset_links: bool = _setting(
        False,
        "Development only: also write each password-reset link, with its email address, to the "
        "app log (handy without SMTP). Off by default: the log then names nobody; ignored in "
        "production.",
    )

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, workdir: Path | None = None
    ) -> Settings:
        """Read every setting from ``environ`` (default ``os.environ``); raise ConfigError."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(env_name(f.name))
            if raw is None:
                continue
            values[f.name] = _parse(f.name, f.type, raw)
        settings = cls(**values)
        settings = settings._with_secret(workdir or Path.cwd())
        settings.validate()
        return settings

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def validate(self) -> None:
        """Raise ConfigError with one clear sentence for the first bad value."""
        if self.env not in ("development", "production"):
            raise ConfigError(f"GATHERING_ENV must be development or production, not {self.env!r}")
        scheme = self.database_url.split("://", 1)[0] if "://" in self.database_url else ""
        if scheme not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ConfigError(
                "GATHERING_DATABASE_URL must start with sqlite+aiosqlite:/// or "
                f"postgresql+asyncpg://, not {scheme or self.database_url!r}"
            )
        if scheme == "sqlite+aiosqlite" and self.database_url.endswith(":memory:"):
            raise ConfigError("GATHERING_DATABASE_URL must name a SQLite file, not :memory:")
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"GATHERING_PORT must be from 1 to 65535, not {self.port}")
        if not 1 <= self.smtp_port <= 65535:
            raise ConfigError(f"GATHERING_SMTP_PORT must be from 1 to 65535, not {self.smtp_port}")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"GATHERING_BASE_URL must be an http:// or https:// address, not {self.base_url!r}"
            )
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"GATHERING_TIMEZONE must be an IANA time zone such as Europe/London, "
                f"not {self.timezone!r}"
            ) from None
        if self.log_level not in ("debug", "info", "warning", "error"):
            raise ConfigError(
                f"GATHERING_LOG_LEVEL must be debug, info, warning or error, not {self.log_level!r}"
            )
        for name in ("confirm_hours", "offer_hours", "joining_link_minutes", "reminder_hours"):
            if not 1 <= getattr(self, name) <= 10_000:
                raise ConfigError(f"{env_name(name)} must be from 1 to 10000")
        for name in ("unconfirmed_hold_minutes", "repeat_mail_minutes"):
            if not 1 <= getattr(self, name) <= 10_000:
                raise ConfigError(f"{env_name(name)} must be from 1 to 10000")
        if not 1 <= self.undo_minutes <= 60:
            raise ConfigError(f"{env_name('undo_minutes')} must be from 1 to 60")
        for name in (
            "held_registrations_per_client",
            "registrations_per_client",
            "registrations_per_recipient",
        ):
            if not 0 <= getattr(self, name) <= 1_000_000:
                raise ConfigError(f"{env_name(name)} must be from 0 to 1000000")
        if not 0 <= self.purge_interval_minutes <= 10_080:
            raise ConfigError("GATHERING_PURGE_INTERVAL_MINUTES must be from 0 to 10080 (a week)")
        if not 1 <= self.keep_alive_seconds <= 3600:
            raise ConfigError("GATHERING_KEEP_ALIVE_SECONDS must be from 1 to 3600")
        if self.sqlite_busy_timeout_ms < 0:
            raise ConfigError("GATHERING_SQLITE_BUSY_TIMEOUT_MS must not be negative")
        if self.sqlite_time_limit_ms < 0:
            raise ConfigError("GATHERING_SQLITE_TIME_LIMIT_MS must not be negative (0: no limit)")
        if self.password_hash_cost not in ("production", "test"):
            raise ConfigError(
                "GATHERING_PASSWORD_HASH_COST must be production or test, "
                f"not {self.password_hash_cost!r}"
            )
        if self.is_production and self.password_hash_cost != "production":  # noqa: S105 (a cost name, not a password)
            raise ConfigError(
                "GATHERING_PASSWORD_HASH_COST=test is for the test suite; "
                "GATHERING_ENV=production needs production"
            )
        if len(self.secret_key) < 16:
            raise ConfigError("the secret key must be at least 16 characters long")

    def _with_secret(self, workdir: Path) -> Settings:
        if self.secret_key:
            return self
        if self.secret_key_file:
            return self.replace(secret_key=_read_secret_file(Path(self.secret_key_file)))
        if self.is_production:
            raise ConfigError(
                "GATHERING_SECRET_KEY or GATHERING_SECRET_KEY_FILE is required when "
                "GATHERING_ENV=production"
            )
        return self.replace(secret_key=_dev_secret(workdir / ".gathering-secret"))


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def documented_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, help) for every setting, in declaration order."""
    rows = []
    for f in dataclasses.fields(Settings):
        default = f.default
        shown = ("true" if default else "false") if isinstance(default, bool) else str(default)
        rows.append((env_name(f.name), shown, f.metadata["help"]))
    return rows


def _parse(name: str, type_name: object, raw: str) -> Any:
    var = env_name(name)
    if type_name in ("int", int):
        try:
            return int(raw.strip())
        except ValueError:
            raise ConfigError(f"{var} must be a whole number, not {raw!r}") from None
    if type_name in ("bool", bool):
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{var} must be true or false, not {raw!r}")
    return raw.strip()


def _read_secret_file(path: Path) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot read GATHERING_SECRET_KEY_FILE {path}: {reason}") from None
    if not value:
        raise ConfigError(f"GATHERING_SECRET_KEY_FILE {path} is empty")
    return value


def _dev_secret(path: Path) -> str:
    if path.exists():
        return _read_secret_file(path)
    value = secrets.token_urlsafe(48)
    try:
        # O_EXCL: two processes starting at once must not overwrite each other's secret.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret_file(path)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the development secret to {path}: {exc.strerror}"
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value
