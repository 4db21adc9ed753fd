"""The ``gathering`` command: serve, migrate, demo, create-organiser, purge, backup."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from gathering import __version__
from gathering.core import migrate
from gathering.core.database import Database
from gathering.core.errors import ConfigError, GatheringError, InvalidInput
from gathering.core.settings import Settings
from gathering.privacy import words as privacy_words

T = TypeVar("T")
EXIT_CONFIG = 2
EXIT_FAILED = 1


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 1 to 65535, not {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gathering",
        description="Programmes, registration, tickets and door check-in for grassroots networks. "
        "Configured by GATHERING_* environment variables (see the README).",
    )
    parser.add_argument("--version", action="version", version=f"gathering {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the web service",
        description="Run the web service with uvicorn. Migrates the database first.",
    )
    serve.add_argument("--host", help="address to listen on (default: GATHERING_HOST)")
    serve.add_argument("--port", type=_port, help="port to listen on (default: GATHERING_PORT)")
    serve.add_argument(
        "--reload", action="store_true", help="restart when the code changes (development)"
    )

    commands.add_parser(
        "migrate",
        help="bring the database schema to the newest revision",
        description="Create or upgrade the database schema. Safe to run at any time.",
    )

    demo = commands.add_parser(
        "demo",
        help="load the demo network (idempotent) and print its logins",
        description="Load the demo network from the seed documents: the Labour Left Alliance "
        "fringe at Labour Party conference 2019 and a hybrid national gathering, with fictional "
        "attendees. Running it again changes nothing. Refused in production.",
    )
    demo.add_argument(
        "--force", action="store_true", help="load even when GATHERING_ENV=production"
    )

    organiser = commands.add_parser(
        "create-organiser",
        help="create an organiser or admin account (or reset its password)",
        description="Create an organiser account, or set a new password on an existing one. "
        "Asks for the password without echo unless --password-file is given.",
    )
    organiser.add_argument("--email", required=True, help="the sign-in email address")
    organiser.add_argument("--name", required=True, help="the name shown to other organisers")
    organiser.add_argument(
        "--organisation", metavar="SLUG", help="make the account an organiser of this organisation"
    )
    organiser.add_argument("--admin", action="store_true", help="network admin: may do everything")
    organiser.add_argument(
        "--password-file",
        type=Path,
        help="read the password from the first line of this file (for scripts)",
    )

    purge = commands.add_parser(
        "purge",
        help="erase the personal data of gatherings past their retention period",
        description="Anonymise every gathering whose retention period has passed (each "
        "gathering keeps personal data for its set number of days after it ends): names, "
        "emails, answers, ticket codes, mail, names at the door and supporters lists are erased; "
        "counts and check-in times stay. The service does this by itself every "
        "GATHERING_PURGE_INTERVAL_MINUTES. Running it again erases nothing more.",
    )
    purge.add_argument(
        "--dry-run", action="store_true", help="only say what would be erased (numbers, no names)"
    )
    purge.add_argument(
        "--now",
        type=_moment,
        metavar="WHEN",
        help="act as if it were this moment (ISO 8601, e.g. 2030-01-31T09:00+00:00; a date "
        "alone means midnight UTC), to rehearse a future purge with --dry-run",
    )

    backup = commands.add_parser(
        "backup",
        help="copy the SQLite database consistently while the service runs",
        description="Write a consistent copy of the SQLite database to PATH with SQLite's online "
        "backup API, while the service keeps serving. For PostgreSQL use pg_dump (see the "
        "README's Backups section).",
    )
    backup.add_argument("path", type=Path, metavar="PATH", help="the file to write")
    backup.add_argument("--force", action="store_true", help="replace PATH if it exists")

    passes = commands.add_parser(
        "steward-pass",
        help="make, list or revoke steward passes for a gathering's door",
        description="Steward passes let volunteers scan tickets on their phones (organisers can "
        "also do this on the gathering's 'Steward passes' page). The link and PIN of a new pass "
        "are printed once.",
    )
    pass_commands = passes.add_subparsers(dest="door_action", required=True, metavar="ACTION")
    create = pass_commands.add_parser("create", help="make a pass and print its link and PIN")
    create.add_argument("gathering", metavar="GATHERING", help="the gathering's slug")
    create.add_argument("--label", required=True, help='the name stewards see, e.g. "Door 2"')
    create.add_argument(
        "--from",
        dest="valid_from",
        metavar="YYYY-MM-DDTHH:MM",
        help="local time it starts working (default: now, or the gathering's first morning)",
    )
    create.add_argument(
        "--until",
        dest="valid_until",
        metavar="YYYY-MM-DDTHH:MM",
        help="local time it stops working (default: the end of the gathering's last day)",
    )
    create.add_argument(
        "--session",
        dest="sessions",
        type=int,
        action="append",
        metavar="ID",
        help="admit to this session only (repeat for several; default: all sessions)",
    )
    create.add_argument(
        "--pin-file",
        type=Path,
        help="read the PIN (4 to 12 digits) from this file's first line; default: a random PIN",
    )
    listing = pass_commands.add_parser("list", help="list a gathering's passes")
    listing.add_argument("gathering", metavar="GATHERING", help="the gathering's slug")
    revoke = pass_commands.add_parser("revoke", help="revoke a pass at once")
    revoke.add_argument("gathering", metavar="GATHERING", help="the gathering's slug")
    revoke.add_argument("pass_id", type=int, metavar="PASS_ID", help="as `list` shows it")
    return parser


def _moment(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a date or time like 2030-01-31T09:00+00:00, not {value!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
        )
        if settings.log_level != "debug":
            logging.getLogger("alembic").setLevel(logging.WARNING)
        if args.command == "serve":
            return _serve(settings, args)
        if args.command == "migrate":
            return _run(settings, _migrate)
        if args.command == "demo":
            if settings.is_production and not args.force:
                raise ConfigError("the demo is not loaded in production (use --force to insist)")
            return _run(settings, lambda db: _demo(db, settings))
        if args.command == "create-organiser":
            password = _password(args.password_file)
            return _run(settings, lambda db: _create_organiser(db, args, password))
        if args.command == "purge":
            return _run(settings, lambda db: _purge(db, args))
        if args.command == "backup":
            return _backup(settings, args)
        if args.command == "steward-pass":
            pin = _secret_line(args.pin_file) if getattr(args, "pin_file", None) else ""
            return _run(settings, lambda db: _steward_pass(db, settings, args, pin))
    except ConfigError as error:
        _fail(error.message)
        return EXIT_CONFIG
    except InvalidInput as error:
        _fail("; ".join(error.errors.values()))
        return EXIT_FAILED
    except GatheringError as error:
        _fail(error.message)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    raise AssertionError(args.command)  # pragma: no cover


def _fail(message: str) -> None:
    print(f"gathering: error: {message}", file=sys.stderr)


def _run(settings: Settings, action: Callable[[Database], Awaitable[int]]) -> int:
    async def _with_db() -> int:
        db = Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        try:
            return await action(db)
        finally:
            await db.dispose()

    return asyncio.run(_with_db())


async def _migrate(db: Database) -> int:
    before, after = await migrate.upgrade(db)
    if before == after:
        print(f"Database already at revision {after}.")
    else:
        print(f"Database migrated from {before or 'empty'} to {after}.")
    return 0


async def _demo(db: Database, settings: Settings) -> int:
    from gathering.demo import load_demo

    await migrate.upgrade(db)
    logins = await load_demo(db, secret_key=settings.secret_key)
    print(f"Demo network loaded ({logins.inserted} new rows).")
    print(f"Open {settings.base_url}/ in a browser. Demo sign-ins:")
    for email, password, role in logins.accounts:
        print(f"  {role:<28} {email:<26} password: {password}")
    from gathering.app import create_app

    app = create_app(settings)
    print(
        f"  steward pass '{logins.steward_label}' (today's practice evening): "
        f"PIN {logins.steward_pin}, link {settings.base_url}/door/{logins.steward_token}"
    )
    if logins.practice_manage_token:
        path = app.url_path_for("registration:ticket", token=logins.practice_manage_token)
        print(f"    a practice ticket to scan or type at that door: {settings.base_url}{path}")
    if logins.attendee_manage_token:
        path = app.url_path_for("registration:manage", token=logins.attendee_manage_token)
        print(f"  a fictional attendee, {logins.attendee_name}: {settings.base_url}{path}")
    return 0


async def _create_organiser(db: Database, args: argparse.Namespace, password: str) -> int:
    from gathering.auth.accounts import create_or_update_account

    await migrate.upgrade(db)
    result = await create_or_update_account(
        db,
        email=args.email,
        display_name=args.name,
        password=password,
        is_admin=args.admin,
        organisation_slug=args.organisation,
    )
    verb = "Created" if result.created else "Updated"
    print(f"{verb} account {args.email.strip().lower()}.")
    return 0


async def _purge(db: Database, args: argparse.Namespace) -> int:
    from gathering.privacy import retention

    await migrate.upgrade(db)
    if args.dry_run:
        found = await retention.preview(db, args.now)
        verb = "would erase"
    else:
        found = await retention.purge(db, args.now)
        verb = "erased"
    if not found:
        print("No gathering is past its retention period: nothing to erase.")
    for erasure in found:
        print(f"{erasure.slug} (personal data kept until {erasure.erase_from - dt.timedelta(1)}):")
        if not erasure.total:
            print("  nothing left to erase")
            continue
        counts = erasure.counts()
        listed = ", ".join(f"{n} {PURGE_WORDS[k]}" for k, n in counts.items() if n)
        print(f"  {verb} {listed}")
    return 0


# The purge's words live with the privacy feature's other words.
PURGE_WORDS = privacy_words.PURGE_WORDS


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from gathering.core.backup import backup_sqlite, sqlite_path

    done = backup_sqlite(
        sqlite_path(settings.database_url),
        args.path,
        overwrite=args.force,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
    print(
        f"Backed up {done.source} to {done.target}: {done.size_bytes:,} bytes "
        f"in {done.seconds:.2f} s."
    )
    return 0


def _password(password_file: Path | None) -> str:
    if password_file is not None:
        try:
            lines = password_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"cannot read the password file {password_file}: {error}") from None
        return lines[0] if lines else ""
    if not sys.stdin.isatty():
        raise ConfigError("no terminal to ask for a password on; use --password-file")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise ConfigError("the two passwords differ")
    return first


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from gathering.core.redact import uvicorn_log_config

    host = args.host or settings.host
    port = args.port or settings.port
    # Migrate before uvicorn starts, so a bad database is one clear line, not a traceback.
    _run(settings, _migrate)
    common = {
        "host": host,
        "port": port,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "log_level": settings.log_level,
        "log_config": uvicorn_log_config(),  # secret links never reach the access log
        "server_header": False,
        # Open live-count streams (Server-Sent Events) would otherwise hold a restart for minutes;
        # the scan pages reconnect by themselves.
        "timeout_graceful_shutdown": 5,
        "timeout_keep_alive": settings.keep_alive_seconds,
    }
    if args.reload:
        uvicorn.run("gathering.app:app_factory", factory=True, reload=True, **common)  # type: ignore[arg-type]
    else:
        from gathering.app import create_app

        app = create_app(settings)
        # Everything imported and built so far lives as long as the process: out of the
        # collector's sight, a full collection no longer walks it (a 30-40 ms pause in the
        # middle of a request otherwise; https://docs.python.org/3/library/gc.html#gc.freeze).
        gc.freeze()
        uvicorn.run(app, **common)  # type: ignore[arg-type]
    return 0


def _secret_line(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").splitlines()[0].strip() if path else ""
    except (OSError, UnicodeDecodeError, IndexError) as error:
        raise ConfigError(f"cannot read the first line of {path}: {error}") from None


async def _steward_pass(
    db: Database, settings: Settings, args: argparse.Namespace, pin: str
) -> int:
    from gathering.door import passes as stewarding

    now = dt.datetime.now(dt.UTC)
    actor = stewarding.COMMAND_LINE
    if args.door_action == "revoke":
        done = await stewarding.revoke_pass(db, actor, args.gathering, args.pass_id, now=now)
        print(f"Pass {args.pass_id} {'revoked' if done else 'was already revoked'}.")
        return 0
    page = await stewarding.passes_page(db, actor, args.gathering, now)
    if args.door_action == "list":
        if not page.passes:
            print(f"No steward passes for {page.gathering_slug}.")
        for p in page.passes:
            covers = "all sessions" if p.all_sessions else "; ".join(p.session_titles)
            print(
                f"{p.id:>5}  {p.state:<13}  {p.label}  ({covers}; "
                f"{p.valid_from_local:%Y-%m-%d %H:%M} to {p.valid_until_local:%Y-%m-%d %H:%M} "
                f"{page.timezone}; {p.scans} scans, {p.admitted} admitted)"
            )
        return 0
    default = page.default_input
    form = stewarding.PassInput(
        label=args.label,
        valid_from=args.valid_from or default.valid_from,
        valid_until=args.valid_until or default.valid_until,
        pin=pin,
        all_sessions=not args.sessions,
        session_ids=tuple(str(s) for s in args.sessions or ()),
    )
    created = await stewarding.create_pass(db, actor, args.gathering, form, now=now)
    print(f"Steward pass {created.id} '{created.label}' for {page.gathering_slug}:")
    print(f"  link: {settings.base_url.rstrip('/')}/door/{created.token}")
    if created.pin:
        print(f"  PIN:  {created.pin}")
    print(
        f"  works {created.valid_from_local:%Y-%m-%d %H:%M} to "
        f"{created.valid_until_local:%Y-%m-%d %H:%M} ({page.timezone})"
    )
    print("The link and PIN are shown only now; share them with the stewards.")
    return 0
