"""The schema, in SQLAlchemy Core. Alembic migrations in ``db/migrations`` must match it exactly
(``alembic check`` runs in the test suite).

Instants are stored as naive UTC and come back as aware UTC datetimes on both engines.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """An aware datetime stored as naive UTC, so SQLite and PostgreSQL round-trip alike."""

    impl = sa.DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone first")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite returns text for some expressions
            value = dt.datetime.fromisoformat(value)
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _created() -> sa.Column[dt.datetime]:
    return sa.Column("created_at", UTCDateTime(), nullable=False)


def _fk(
    name: str, target: str, *, nullable: bool = False, ondelete: str = "CASCADE"
) -> sa.Column[int]:
    return sa.Column(
        name, sa.Integer, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True
    )


def _choice(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


MODES = ("in_person", "online", "hybrid")
SESSION_STATUSES = ("draft", "published", "cancelled")
ACCESS_KINDS = ("public", "supporters", "invite")
SPEAKER_ROLES = ("chair", "speaker")
HOST_ROLES = ("host", "co_host")
MEMBER_ROLES = ("organiser",)
REGISTRATION_STATUSES = ("pending", "confirmed", "cancelled", "anonymised")
PLACE_STATUSES = ("confirmed", "waitlisted", "offered", "cancelled")
CHECKIN_KINDS = ("entry", "exit", "undo")

# --- organisations and accounts -----------------------------------------------------------

organisation = sa.Table(
    "organisation",
    metadata,
    _id(),
    sa.Column("slug", sa.String(80), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("short_name", sa.String(40), nullable=False, server_default=""),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("website", sa.String(300), nullable=False, server_default=""),
    sa.Column("contact_email", sa.String(320), nullable=False, server_default=""),
    _created(),
)

account = sa.Table(
    "account",
    metadata,
    _id(),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("last_login_at", UTCDateTime(), nullable=True),
    _created(),
)

membership = sa.Table(
    "membership",
    metadata,
    sa.Column(
        "account_id", sa.Integer, sa.ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "organisation_id",
        sa.Integer,
        sa.ForeignKey("organisation.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("role", sa.String(20), nullable=False, server_default="organiser"),
    _created(),
    _choice("role", MEMBER_ROLES),
)

# Server-side sign-in sessions: the cookie holds a random token, the table its SHA-256.
login_session = sa.Table(
    "login_session",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    _fk("account_id", "account.id"),
    _created(),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False),
)

# --- gatherings and places ----------------------------------------------------------------

gathering = sa.Table(
    "gathering",
    metadata,
    _id(),
    sa.Column("slug", sa.String(80), nullable=False, unique=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="Europe/London"),
    sa.Column("mode", sa.String(20), nullable=False, server_default="in_person"),
    sa.Column("location", sa.String(200), nullable=False, server_default=""),
    sa.Column(
        "host_organisation_id",
        sa.Integer,
        sa.ForeignKey("organisation.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("is_listed", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("registration_open", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("data_controller", sa.String(300), nullable=False, server_default=""),
    # Where attendees write about their data (an email address); empty: the host's contact.
    sa.Column("privacy_contact", sa.String(320), nullable=False, server_default=""),
    sa.Column("retention_days", sa.Integer, nullable=False, server_default="30"),
    sa.Column("released_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("anonymised_at", UTCDateTime(), nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    _choice("mode", MODES),
    sa.CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
)

venue = sa.Table(
    "venue",
    metadata,
    _id(),
    _fk("gathering_id", "gathering.id"),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("address", sa.Text, nullable=False, server_default=""),
    sa.Column("step_free", sa.Boolean, nullable=True),
    sa.Column("hearing_loop", sa.Boolean, nullable=True),
    sa.Column("bsl", sa.Boolean, nullable=True),
    sa.Column("quiet_room", sa.Boolean, nullable=True),
    sa.Column("access_notes", sa.Text, nullable=False, server_default=""),
    _created(),
)

room = sa.Table(
    "room",
    metadata,
    _id(),
    _fk("venue_id", "venue.id"),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=True),
    sa.Column("step_free", sa.Boolean, nullable=True),
    sa.Column("access_notes", sa.Text, nullable=False, server_default=""),
    _created(),
)

track = sa.Table(
    "track",
    metadata,
    _id(),
    _fk("gathering_id", "gathering.id"),
    sa.Column("slug", sa.String(80), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.UniqueConstraint("gathering_id", "slug"),
)

speaker = sa.Table(
    "speaker",
    metadata,
    _id(),
    sa.Column("slug", sa.String(80), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("affiliation", sa.String(200), nullable=False, server_default=""),
    sa.Column("bio", sa.Text, nullable=False, server_default=""),
    sa.Column("photo", sa.String(100), nullable=True),
    _created(),
)

# --- the programme --------------------------------------------------------------------------

programme_session = sa.Table(
    "programme_session",
    metadata,
    _id(),
    _fk("gathering_id", "gathering.id"),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("starts_at", UTCDateTime(), nullable=False),
    sa.Column("ends_at", UTCDateTime(), nullable=False),
    # NULL room: the venue is "tbc".
    _fk("room_id", "room.id", nullable=True, ondelete="SET NULL"),
    _fk("track_id", "track.id", nullable=True, ondelete="SET NULL"),
    sa.Column("format", sa.String(20), nullable=False, server_default="in_person"),
    sa.Column("joining_link", sa.String(500), nullable=False, server_default=""),
    sa.Column("capacity", sa.Integer, nullable=True),
    sa.Column("access", sa.String(20), nullable=False, server_default="public"),
    sa.Column("access_note", sa.Text, nullable=False, server_default=""),
    sa.Column("invite_code", sa.String(64), nullable=False, server_default=""),
    sa.Column("language", sa.String(35), nullable=False, server_default="en"),
    sa.Column("status", sa.String(20), nullable=False, server_default="draft"),
    sa.Column("allow_reentry", sa.Boolean, nullable=False, server_default=sa.true()),
    # Supporters-only: everyone with a live registration for the gathering is eligible too.
    sa.Column(
        "supporters_include_registrants", sa.Boolean, nullable=False, server_default=sa.false()
    ),
    # Places taken, kept beside capacity so a place is claimed by one conditional UPDATE.
    sa.Column("places_taken", sa.Integer, nullable=False, server_default="0"),
    # Rises on every public change; calendar feeds use it as SEQUENCE.
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("public_changed_at", UTCDateTime(), nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    _choice("format", MODES),
    _choice("access", ACCESS_KINDS),
    _choice("status", SESSION_STATUSES),
    sa.CheckConstraint("ends_at > starts_at", name="times_in_order"),
    sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
    sa.CheckConstraint("places_taken >= 0", name="places_taken_not_negative"),
)

session_host = sa.Table(
    "session_host",
    metadata,
    sa.Column(
        "session_id",
        sa.Integer,
        sa.ForeignKey("programme_session.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "organisation_id",
        sa.Integer,
        sa.ForeignKey("organisation.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("role", sa.String(20), nullable=False, server_default="host"),
    _choice("role", HOST_ROLES),
)

session_speaker = sa.Table(
    "session_speaker",
    metadata,
    sa.Column(
        "session_id",
        sa.Integer,
        sa.ForeignKey("programme_session.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "speaker_id",
        sa.Integer,
        sa.ForeignKey("speaker.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("role", sa.String(20), nullable=False, server_default="speaker"),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    _choice("role", SPEAKER_ROLES),
)

# A released programme: what the public sees, and what changed since the release before.
programme_release = sa.Table(
    "programme_release",
    metadata,
    _id(),
    _fk("gathering_id", "gathering.id"),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("released_at", UTCDateTime(), nullable=False),
    _fk("released_by", "account.id", nullable=True, ondelete="SET NULL"),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("snapshot", sa.JSON, nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.UniqueConstraint("gathering_id", "number"),
)

# --- registration ---------------------------------------------------------------------------

ticket_type = sa.Table(
    "ticket_type",
    metadata,
    _id(),
    _fk("gathering_id", "gathering.id"),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("suggested_contribution", sa.String(200), nullable=False, server_default=""),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
)

question = sa.Table(
    "question",
    metadata,
    _id(),
    _fk("gathering_id", "gathering.id"),
    sa.Column("key", sa.String(40), nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("help", sa.String(400), nullable=False, server_default=""),
    sa.Column("is_required", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("gathering_id", "key"),
)

registration = sa.Table(
    "registration",
    metadata,
    _id(),
    _fk("gathering_id", "gathering.id"),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    _fk("ticket_type_id", "ticket_type.id", nullable=True, ondelete="SET NULL"),
    sa.Column("answers", sa.JSON, nullable=False),
    sa.Column("share_access_needs", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
    # NULL once anonymised: the code must stop working when the person is erased.
    sa.Column("ticket_code", sa.String(40), nullable=True, unique=True),
    sa.Column("manage_key", sa.String(64), nullable=True, unique=True),
    # Secret of the personal calendar feed; rotating it stops the old URL at once.
    sa.Column("feed_key", sa.String(64), nullable=True, unique=True),
    sa.Column("confirmed_at", UTCDateTime(), nullable=True),
    sa.Column("expires_at", UTCDateTime(), nullable=True),
    sa.Column("anonymised_at", UTCDateTime(), nullable=True),
    _created(),
    _choice("status", REGISTRATION_STATUSES),
)
sa.Index(
    "uq_registration_gathering_id_email_live",
    registration.c.gathering_id,
    registration.c.email,
    unique=True,
    sqlite_where=registration.c.status.in_(["pending", "confirmed"]),
    postgresql_where=registration.c.status.in_(["pending", "confirmed"]),
)

session_place = sa.Table(
    "session_place",
    metadata,
    _id(),
    _fk("registration_id", "registration.id"),
    _fk("session_id", "programme_session.id"),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("offered_until", UTCDateTime(), nullable=True),
    # Set once the reminder mail is queued, by one conditional UPDATE: one reminder per place.
    sa.Column("reminded_at", UTCDateTime(), nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("registration_id", "session_id"),
    _choice("status", PLACE_STATUSES),
)

consent = sa.Table(
    "consent",
    metadata,
    _id(),
    _fk("registration_id", "registration.id"),
    sa.Column("purpose", sa.String(40), nullable=False),
    _fk("organisation_id", "organisation.id", nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("given_at", UTCDateTime(), nullable=False),
    sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
)

# Emails allowed into a supporters-only session (stored as given, lower-cased).
supporter = sa.Table(
    "supporter",
    metadata,
    _id(),
    _fk("session_id", "programme_session.id"),
    sa.Column("email", sa.String(320), nullable=False),
    sa.UniqueConstraint("session_id", "email"),
)

# --- the door ---------------------------------------------------------------------------------

steward_pass = sa.Table(
    "steward_pass",
    metadata,
    _id(),
    _fk("gathering_id", "gathering.id"),
    sa.Column("label", sa.String(120), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("pin_hash", sa.String(200), nullable=False),
    sa.Column("all_sessions", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("valid_from", UTCDateTime(), nullable=False),
    sa.Column("valid_until", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    _fk("created_by", "account.id", nullable=True, ondelete="SET NULL"),
    _created(),
)

steward_pass_session = sa.Table(
    "steward_pass_session",
    metadata,
    sa.Column(
        "pass_id",
        sa.Integer,
        sa.ForeignKey("steward_pass.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "session_id",
        sa.Integer,
        sa.ForeignKey("programme_session.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

check_in = sa.Table(
    "check_in",
    metadata,
    _id(),
    _fk("registration_id", "registration.id"),
    _fk("session_id", "programme_session.id", nullable=True),
    _fk("pass_id", "steward_pass.id", nullable=True, ondelete="SET NULL"),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("door", sa.String(120), nullable=False, server_default=""),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("undone_at", UTCDateTime(), nullable=True),
    _choice("kind", CHECKIN_KINDS),
    # A person's moves for one session (or the whole gathering: NULL), found without walking
    # everyone else's: "inside now" asks it for every entry (migration 0009).
    sa.Index("ix_check_in_registration_session", "registration_id", "session_id"),
)

# Every scan, admitted or refused; the nonce makes a retried scan harmless.
scan = sa.Table(
    "scan",
    metadata,
    _id(),
    _fk("pass_id", "steward_pass.id", nullable=True, ondelete="SET NULL"),
    sa.Column("client_nonce", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    # What the steward asked: which session (NULL: the whole gathering), which door, in or out.
    _fk("session_id", "programme_session.id", nullable=True, ondelete="SET NULL"),
    sa.Column("door", sa.String(120), nullable=False, server_default=""),
    sa.Column("kind", sa.String(10), nullable=False, server_default="entry"),
    sa.Column("result", sa.String(10), nullable=False),
    sa.Column("reason", sa.String(40), nullable=False),
    _fk("check_in_id", "check_in.id", nullable=True, ondelete="SET NULL"),
    sa.Column("response", sa.JSON, nullable=False),
    sa.UniqueConstraint("pass_id", "client_nonce"),
)

# --- side work and accountability ---------------------------------------------------------------

outbox = sa.Table(
    "outbox",
    metadata,
    _id(),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("to_address", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("body_text", sa.Text, nullable=False),
    sa.Column("body_html", sa.Text, nullable=False, server_default=""),
    sa.Column("attachments", sa.JSON, nullable=False),
    # Set when the message is rendered from templates at send time (kind + context); empty
    # subject/body then. Pre-rendered messages (password reset) leave it NULL.
    sa.Column("context", sa.JSON, nullable=True),
    _fk("registration_id", "registration.id", nullable=True, ondelete="SET NULL"),
    _created(),
    sa.Column("send_after", UTCDateTime(), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("locked_until", UTCDateTime(), nullable=True),
    sa.Column("sent_at", UTCDateTime(), nullable=True, index=True),
)

audit_event = sa.Table(
    "audit_event",
    metadata,
    _id(),
    sa.Column("at", UTCDateTime(), nullable=False, index=True),
    sa.Column("actor_kind", sa.String(20), nullable=False),
    sa.Column("actor_id", sa.Integer, nullable=True),
    sa.Column("action", sa.String(60), nullable=False, index=True),
    sa.Column("subject_kind", sa.String(40), nullable=False, server_default=""),
    sa.Column("subject_id", sa.Integer, nullable=True),
    sa.Column("detail", sa.JSON, nullable=False),
)

# Counters for throttling (sign-in attempts, steward PINs, help-desk searches).
throttle = sa.Table(
    "throttle",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("window_start", UTCDateTime(), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
)

# --- speaker photos ---------------------------------------------------------------------------

# The bytes live in the database so every app replica serves the same photo.
speaker_photo = sa.Table(
    "speaker_photo",
    metadata,
    sa.Column(
        "speaker_id",
        sa.Integer,
        sa.ForeignKey("speaker.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("content_type", sa.String(40), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)
