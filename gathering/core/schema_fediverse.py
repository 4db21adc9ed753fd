"""The schema's tables for the fediverse (issue 19): actors' keys, followers, blocked instances
and the delivery outbox.

Followers are remote actors (their URLs, inboxes and instance), never people who registered
here; nothing personal about an attendee is ever stored or sent from these tables.
"""

from __future__ import annotations

import sqlalchemy as sa

from gathering.core.schema_base import (
    UTCDateTime,
    choice_check,
    created_column,
    fk_column,
    id_column,
    metadata,
)

DELIVERY_VERBS = ("Create", "Update", "Delete", "Accept")

# One row per local actor (an organisation or a gathering) that has needed a key: its RSA pair,
# generated once. The private key never leaves the server (the actor document shows the public).
fediverse_actor = sa.Table(
    "fediverse_actor",
    metadata,
    id_column(),
    sa.Column(
        "organisation_id",
        sa.Integer,
        sa.ForeignKey("organisation.id", ondelete="CASCADE"),
        nullable=True,
        unique=True,
    ),
    sa.Column(
        "gathering_id",
        sa.Integer,
        sa.ForeignKey("gathering.id", ondelete="CASCADE"),
        nullable=True,
        unique=True,
    ),
    sa.Column("public_key_pem", sa.Text, nullable=False),
    sa.Column("private_key_pem", sa.Text, nullable=False),
    created_column(),
    sa.CheckConstraint("(organisation_id IS NULL) <> (gathering_id IS NULL)", name="one_subject"),
)

# A remote actor following one of ours. ``instance`` is the host of the follower's id, for
# blocking a whole instance.
fediverse_follower = sa.Table(
    "fediverse_follower",
    metadata,
    id_column(),
    fk_column("actor_id", "fediverse_actor.id"),
    sa.Column("follower_uri", sa.String(500), nullable=False),
    sa.Column("inbox_url", sa.String(500), nullable=False),
    sa.Column("shared_inbox_url", sa.String(500), nullable=False, server_default=""),
    sa.Column("instance", sa.String(255), nullable=False, index=True),
    sa.Column("follow_activity_id", sa.String(500), nullable=False, server_default=""),
    created_column(),
    sa.UniqueConstraint("actor_id", "follower_uri"),
)

fediverse_blocked_instance = sa.Table(
    "fediverse_blocked_instance",
    metadata,
    sa.Column("host", sa.String(255), primary_key=True),
    created_column(),
)

# The delivery outbox, like mail's: queued in the transaction of the change (a release, a
# follow), sent after commit by ``gathering.fediverse.delivery``. A session activity is rebuilt
# at send time from the release it belongs to (releases are never changed, so every retry sends
# the same bytes with the same id); an Accept names the follower row it answers.
fediverse_delivery = sa.Table(
    "fediverse_delivery",
    metadata,
    id_column(),
    sa.Column("verb", sa.String(10), nullable=False),
    fk_column("gathering_id", "gathering.id", nullable=True),
    sa.Column("release_number", sa.Integer, nullable=True),
    sa.Column("session_id", sa.Integer, nullable=True),
    sa.Column("version", sa.Integer, nullable=True),
    # The organisation whose actor signs a session activity; NULL: the gathering's actor.
    fk_column("organisation_id", "organisation.id", nullable=True),
    fk_column("follower_id", "fediverse_follower.id", nullable=True),
    sa.Column("inbox_url", sa.String(500), nullable=False),
    created_column(),
    sa.Column("send_after", UTCDateTime(), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("locked_until", UTCDateTime(), nullable=True),
    sa.Column("delivered_at", UTCDateTime(), nullable=True, index=True),
    choice_check("verb", DELIVERY_VERBS),
    # One activity reaches one inbox once, however many followers share it.
    sa.UniqueConstraint("verb", "session_id", "version", "inbox_url"),
)
