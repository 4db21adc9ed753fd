"""The schema's tables for the door offline (issue 15): tickets admitted twice while offline.

A steward's phone with no signal admits from its offline bundle and sends the scan later. When
a second phone did the same for the same ticket, the first admission to reach the server is the
one recorded; the second becomes one row here, for organisers to see on the dashboard.
"""

from __future__ import annotations

import sqlalchemy as sa

from gathering.core.schema_base import UTCDateTime, fk_column, id_column, metadata

door_conflict = sa.Table(
    "door_conflict",
    metadata,
    id_column(),
    fk_column("gathering_id", "gathering.id"),
    fk_column("registration_id", "registration.id"),
    fk_column("session_id", "programme_session.id", nullable=True, ondelete="SET NULL"),
    # The admission that was recorded first (it stands), and the pass of the second phone.
    fk_column("check_in_id", "check_in.id", nullable=True, ondelete="SET NULL"),
    fk_column("pass_id", "steward_pass.id", nullable=True, ondelete="SET NULL"),
    sa.Column("door", sa.String(120), nullable=False, server_default=""),
    sa.Column("at", UTCDateTime(), nullable=False),  # when the second phone admitted them
    sa.Column("recorded_at", UTCDateTime(), nullable=False),  # when its scan reached us
    # The second phone's scan: a resent queue records it once.
    sa.Column("client_nonce", sa.String(64), nullable=False),
    sa.UniqueConstraint("pass_id", "client_nonce"),
)
