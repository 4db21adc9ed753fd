"""The schema's tables for organisations, accounts, gatherings, their places and programmes."""

from __future__ import annotations

import sqlalchemy as sa

from gathering.core.schema_base import (
    ACCESS_KINDS,
    HOST_ROLES,
    MEMBER_ROLES,
    MODES,
    SESSION_STATUSES,
    SPEAKER_ROLES,
    UTCDateTime,
    choice_check,
    created_column,
    fk_column,
    id_column,
    metadata,
)

# --- organisations and accounts -----------------------------------------------------------

organisation = sa.Table(
    "organisation",
    metadata,
    id_column(),
    sa.Column("slug", sa.String(80), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("short_name", sa.String(40), nullable=False, server_default=""),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("website", sa.String(300), nullable=False, server_default=""),
    sa.Column("contact_email", sa.String(320), nullable=False, server_default=""),
    created_column(),
)

account = sa.Table(
    "account",
    metadata,
    id_column(),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("last_login_at", UTCDateTime(), nullable=True),
    created_column(),
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
    created_column(),
    choice_check("role", MEMBER_ROLES),
)

# An organiser invites someone into their organisation (issue 16): a single-use, expiring link
# whose secret is kept only as its SHA-256.
organiser_invitation = sa.Table(
    "organiser_invitation",
    metadata,
    id_column(),
    fk_column("organisation_id", "organisation.id"),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("role", sa.String(20), nullable=False, server_default="organiser"),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    fk_column("invited_by", "account.id", nullable=True, ondelete="SET NULL"),
    created_column(),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("accepted_at", UTCDateTime(), nullable=True),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    choice_check("role", MEMBER_ROLES),
)

# Server-side sign-in sessions: the cookie holds a random token, the table its SHA-256.
login_session = sa.Table(
    "login_session",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    fk_column("account_id", "account.id"),
    created_column(),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False),
)

# --- gatherings and places ----------------------------------------------------------------

gathering = sa.Table(
    "gathering",
    metadata,
    id_column(),
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
    # Registration windows (issue 16): NULL is no bound; closed anyway once the gathering ended.
    sa.Column("registration_opens_at", UTCDateTime(), nullable=True),
    sa.Column("registration_closes_at", UTCDateTime(), nullable=True),
    sa.Column("data_controller", sa.String(300), nullable=False, server_default=""),
    # Where attendees write about their data (an email address); empty: the host's contact.
    sa.Column("privacy_contact", sa.String(320), nullable=False, server_default=""),
    sa.Column("retention_days", sa.Integer, nullable=False, server_default="30"),
    sa.Column("released_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("anonymised_at", UTCDateTime(), nullable=True),
    # Issue 18 (migration 0018): the language of its pages for a reader who chose none, and of
    # mail to a registrant whose language is unknown; its title and description in other
    # languages, {"cy": {"title": ..., "description": ...}} (see content_translations).
    sa.Column("default_language", sa.String(12), nullable=False, server_default="en"),
    sa.Column("translations", sa.JSON, nullable=False, server_default="{}"),
    created_column(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    choice_check("mode", MODES),
    sa.CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
)

venue = sa.Table(
    "venue",
    metadata,
    id_column(),
    fk_column("gathering_id", "gathering.id"),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("address", sa.Text, nullable=False, server_default=""),
    sa.Column("step_free", sa.Boolean, nullable=True),
    sa.Column("hearing_loop", sa.Boolean, nullable=True),
    sa.Column("bsl", sa.Boolean, nullable=True),
    sa.Column("quiet_room", sa.Boolean, nullable=True),
    sa.Column("access_notes", sa.Text, nullable=False, server_default=""),
    created_column(),
)

room = sa.Table(
    "room",
    metadata,
    id_column(),
    fk_column("venue_id", "venue.id"),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=True),
    sa.Column("step_free", sa.Boolean, nullable=True),
    sa.Column("access_notes", sa.Text, nullable=False, server_default=""),
    created_column(),
)

track = sa.Table(
    "track",
    metadata,
    id_column(),
    fk_column("gathering_id", "gathering.id"),
    sa.Column("slug", sa.String(80), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.UniqueConstraint("gathering_id", "slug"),
)

speaker = sa.Table(
    "speaker",
    metadata,
    id_column(),
    sa.Column("slug", sa.String(80), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("affiliation", sa.String(200), nullable=False, server_default=""),
    sa.Column("bio", sa.Text, nullable=False, server_default=""),
    sa.Column("photo", sa.String(100), nullable=True),
    # Private: where release notices go (issue 16); never on a page, feed, export or API.
    sa.Column("email", sa.String(320), nullable=False, server_default=""),
    created_column(),
)

# --- the programme --------------------------------------------------------------------------

programme_session = sa.Table(
    "programme_session",
    metadata,
    id_column(),
    fk_column("gathering_id", "gathering.id"),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("starts_at", UTCDateTime(), nullable=False),
    sa.Column("ends_at", UTCDateTime(), nullable=False),
    # NULL room: the venue is "tbc".
    fk_column("room_id", "room.id", nullable=True, ondelete="SET NULL"),
    fk_column("track_id", "track.id", nullable=True, ondelete="SET NULL"),
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
    # A session's own registration window inside the gathering's (issue 16); NULL: no bound.
    sa.Column("registration_opens_at", UTCDateTime(), nullable=True),
    sa.Column("registration_closes_at", UTCDateTime(), nullable=True),
    # Issue 18: title and description in other languages, as the gathering's ``translations``.
    sa.Column("translations", sa.JSON, nullable=False, server_default="{}"),
    created_column(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    choice_check("format", MODES),
    choice_check("access", ACCESS_KINDS),
    choice_check("status", SESSION_STATUSES),
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
    choice_check("role", HOST_ROLES),
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
    choice_check("role", SPEAKER_ROLES),
)

# A released programme: what the public sees, and what changed since the release before.
programme_release = sa.Table(
    "programme_release",
    metadata,
    id_column(),
    fk_column("gathering_id", "gathering.id"),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("released_at", UTCDateTime(), nullable=False),
    fk_column("released_by", "account.id", nullable=True, ondelete="SET NULL"),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("snapshot", sa.JSON, nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.UniqueConstraint("gathering_id", "number"),
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
