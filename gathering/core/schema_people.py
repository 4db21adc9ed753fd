"""The schema's tables for people: registrations, the door, the outbox, audit and throttles."""

from __future__ import annotations

import sqlalchemy as sa

from gathering.core.schema_base import (
    CHECKIN_KINDS,
    PLACE_STATUSES,
    REGISTRATION_STATUSES,
    UTCDateTime,
    choice_check,
    created_column,
    fk_column,
    id_column,
    metadata,
)

# --- registration ---------------------------------------------------------------------------

ticket_type = sa.Table(
    "ticket_type",
    metadata,
    id_column(),
    fk_column("gathering_id", "gathering.id"),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("suggested_contribution", sa.String(200), nullable=False, server_default=""),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
)

question = sa.Table(
    "question",
    metadata,
    id_column(),
    fk_column("gathering_id", "gathering.id"),
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
    id_column(),
    fk_column("gathering_id", "gathering.id"),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    fk_column("ticket_type_id", "ticket_type.id", nullable=True, ondelete="SET NULL"),
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
    # Issue 16: a cancelled registration may be restored until then (its ticket code kept).
    sa.Column("undo_until", UTCDateTime(), nullable=True),
    # Issue 18: the language they registered in (every mail to them is in it); NULL: unknown
    # (registered before migration 0018), the gathering's default_language is used.
    sa.Column("language", sa.String(12), nullable=True),
    created_column(),
    choice_check("status", REGISTRATION_STATUSES),
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
    id_column(),
    fk_column("registration_id", "registration.id"),
    fk_column("session_id", "programme_session.id"),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("offered_until", UTCDateTime(), nullable=True),
    # Set once the reminder mail is queued, by one conditional UPDATE: one reminder per place.
    sa.Column("reminded_at", UTCDateTime(), nullable=True),
    # Issue 16: a place given up may be taken back until ``undo_until``; ``undo_status`` is what
    # it was. A seat it held stays taken until then, then goes to the next person waiting.
    sa.Column("undo_status", sa.String(20), nullable=True),
    sa.Column("undo_until", UTCDateTime(), nullable=True),
    created_column(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("registration_id", "session_id"),
    choice_check("status", PLACE_STATUSES),
)

consent = sa.Table(
    "consent",
    metadata,
    id_column(),
    fk_column("registration_id", "registration.id"),
    sa.Column("purpose", sa.String(40), nullable=False),
    fk_column("organisation_id", "organisation.id", nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("given_at", UTCDateTime(), nullable=False),
    sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
)

# Emails allowed into a supporters-only session (stored as given, lower-cased).
supporter = sa.Table(
    "supporter",
    metadata,
    id_column(),
    fk_column("session_id", "programme_session.id"),
    sa.Column("email", sa.String(320), nullable=False),
    sa.UniqueConstraint("session_id", "email"),
)

# --- the door ---------------------------------------------------------------------------------

steward_pass = sa.Table(
    "steward_pass",
    metadata,
    id_column(),
    fk_column("gathering_id", "gathering.id"),
    sa.Column("label", sa.String(120), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("pin_hash", sa.String(200), nullable=False),
    sa.Column("all_sessions", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("valid_from", UTCDateTime(), nullable=False),
    sa.Column("valid_until", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    fk_column("created_by", "account.id", nullable=True, ondelete="SET NULL"),
    created_column(),
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
    id_column(),
    fk_column("registration_id", "registration.id"),
    fk_column("session_id", "programme_session.id", nullable=True),
    fk_column("pass_id", "steward_pass.id", nullable=True, ondelete="SET NULL"),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("door", sa.String(120), nullable=False, server_default=""),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("undone_at", UTCDateTime(), nullable=True),
    choice_check("kind", CHECKIN_KINDS),
    # A person's moves for one session (or the whole gathering: NULL), found without walking
    # everyone else's: "inside now" asks it for every entry (migration 0009).
    sa.Index("ix_check_in_registration_session", "registration_id", "session_id"),
)

# Every scan, admitted or refused; the nonce makes a retried scan harmless.
scan = sa.Table(
    "scan",
    metadata,
    id_column(),
    fk_column("pass_id", "steward_pass.id", nullable=True, ondelete="SET NULL"),
    sa.Column("client_nonce", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    # What the steward asked: which session (NULL: the whole gathering), which door, in or out.
    fk_column("session_id", "programme_session.id", nullable=True, ondelete="SET NULL"),
    sa.Column("door", sa.String(120), nullable=False, server_default=""),
    sa.Column("kind", sa.String(10), nullable=False, server_default="entry"),
    sa.Column("result", sa.String(10), nullable=False),
    sa.Column("reason", sa.String(40), nullable=False),
    fk_column("check_in_id", "check_in.id", nullable=True, ondelete="SET NULL"),
    sa.Column("response", sa.JSON, nullable=False),
    sa.UniqueConstraint("pass_id", "client_nonce"),
)

# --- side work and accountability ---------------------------------------------------------------

outbox = sa.Table(
    "outbox",
    metadata,
    id_column(),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("to_address", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("body_text", sa.Text, nullable=False),
    sa.Column("body_html", sa.Text, nullable=False, server_default=""),
    sa.Column("attachments", sa.JSON, nullable=False),
    # Set when the message is rendered from templates at send time (kind + context); empty
    # subject/body then. Messages stored already rendered (older password resets) leave it NULL.
    sa.Column("context", sa.JSON, nullable=True),
    fk_column("registration_id", "registration.id", nullable=True, ondelete="SET NULL"),
    # Issue 18: the language the message is rendered in; NULL (queued before 0018): English.
    sa.Column("language", sa.String(12), nullable=True),
    created_column(),
    sa.Column("send_after", UTCDateTime(), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("locked_until", UTCDateTime(), nullable=True),
    sa.Column("sent_at", UTCDateTime(), nullable=True, index=True),
)

audit_event = sa.Table(
    "audit_event",
    metadata,
    id_column(),
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
