"""The schema's table for the public page cache (issue 17): one generation number for the site.

Database triggers (migration 0013) raise ``generation`` in the same transaction as any write that
changes what the public pages show: gatherings (their listing, registration window, words),
releases, organisations, speakers and their photos, venues, rooms, tracks, and a session being
added, removed or changing status (the home page counts sessions). Places taken are not in it:
registrations would all queue on this one row; pages showing places refresh on a timer instead
(``programme.page_cache``). Every process compares the number with its cached pages', so a
release in one replica reaches the pages of every other one with one indexed read.
"""

from __future__ import annotations

import sqlalchemy as sa

from gathering.core.schema_base import metadata

public_generation = sa.Table(
    "public_generation",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1
    sa.Column("generation", sa.BigInteger, nullable=False, server_default="0"),
)

# Tables whose every insert, update or delete can change a public page.
WATCHED_TABLES = (
    "gathering",
    "programme_release",
    "organisation",
    "speaker",
    "speaker_photo",
    "venue",
    "room",
    "track",
    # migration 0017: what the registration form offers (it is kept per generation too)
    "ticket_type",
    "question",
    "session_host",
)
# programme_session: rows added or removed, and the status column (drafts become visible on the
# home page's counts); never places_taken, which every registration changes.
WATCHED_SESSION_COLUMN = "status"
