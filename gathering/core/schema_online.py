"""The schema's tables for online attendance and CLP introductions (issue 20).

``online_join`` holds, per place at an online or hybrid session, when its personal joining link
was first and last opened, and how many distinct devices opened it in a short window (a count
only: devices are told apart by a first-party cookie the server never stores). The link itself
is derived from the secret key and the registration's manage key, so no token is stored at all.

``introduction_round`` holds, per gathering, when the CLP introductions go out and, once sent,
only how many groups and single people there were: never who matched whom.
"""

from __future__ import annotations

import sqlalchemy as sa

from gathering.core.schema_base import UTCDateTime, fk_column, id_column, metadata

online_join = sa.Table(
    "online_join",
    metadata,
    id_column(),
    fk_column("place_id", "session_place.id"),
    sa.Column("first_joined_at", UTCDateTime(), nullable=False),
    sa.Column("last_joined_at", UTCDateTime(), nullable=True),  # NULL once erased
    sa.Column("opens", sa.Integer, nullable=False, server_default="0"),
    # Distinct devices since window_started_at; reaching the threshold flags a shared link.
    sa.Column("window_started_at", UTCDateTime(), nullable=True),
    sa.Column("window_devices", sa.Integer, nullable=False, server_default="0"),
    sa.Column("shared_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("place_id"),
)

introduction_round = sa.Table(
    "introduction_round",
    metadata,
    id_column(),
    fk_column("gathering_id", "gathering.id"),
    sa.Column("send_at", UTCDateTime(), nullable=True),  # None: only on demand
    # Who a person alone in their CLP may write to (the network's contact for the region).
    sa.Column("single_contact", sa.String(300), nullable=False, server_default=""),
    sa.Column("sent_at", UTCDateTime(), nullable=True),
    sa.Column("groups", sa.Integer, nullable=False, server_default="0"),
    sa.Column("singles", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("gathering_id"),
)
