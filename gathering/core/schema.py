"""The schema, in SQLAlchemy Core. Alembic migrations in ``core/migrations`` must match it exactly
(``alembic check`` runs in the test suite).

Instants are stored as naive UTC and come back as aware UTC datetimes on both engines. The tables
are defined in ``schema_programme`` (organisations, accounts, gatherings, programmes) and
``schema_people`` (registrations, the door, outbox, audit, throttles) over ``schema_base``; this
module gathers them, so ``from gathering.core.schema import registration`` and ``schema.metadata``
(with every table, as Alembic's env needs) work as one module. A new table goes in one of those
two modules and is named here.
"""

from __future__ import annotations

from gathering.core.schema_base import (
    ACCESS_KINDS,
    CHECKIN_KINDS,
    HOST_ROLES,
    MEMBER_ROLES,
    MODES,
    NAMING_CONVENTION,
    PLACE_STATUSES,
    REGISTRATION_STATUSES,
    SESSION_STATUSES,
    SPEAKER_ROLES,
    UTCDateTime,
    metadata,
)
from gathering.core.schema_door import door_conflict
from gathering.core.schema_fediverse import (
    fediverse_actor,
    fediverse_blocked_instance,
    fediverse_delivery,
    fediverse_follower,
)
from gathering.core.schema_online import introduction_round, online_join
from gathering.core.schema_people import (
    audit_event,
    check_in,
    consent,
    outbox,
    question,
    registration,
    scan,
    session_place,
    steward_pass,
    steward_pass_session,
    supporter,
    throttle,
    ticket_type,
)
from gathering.core.schema_programme import (
    account,
    gathering,
    login_session,
    membership,
    organisation,
    organiser_invitation,
    programme_release,
    programme_session,
    room,
    session_host,
    session_speaker,
    speaker,
    speaker_photo,
    track,
    venue,
)
from gathering.core.schema_public import public_generation

__all__ = [
    "ACCESS_KINDS",
    "CHECKIN_KINDS",
    "HOST_ROLES",
    "MEMBER_ROLES",
    "MODES",
    "NAMING_CONVENTION",
    "PLACE_STATUSES",
    "REGISTRATION_STATUSES",
    "SESSION_STATUSES",
    "SPEAKER_ROLES",
    "UTCDateTime",
    "account",
    "audit_event",
    "check_in",
    "consent",
    "door_conflict",
    "fediverse_actor",
    "fediverse_blocked_instance",
    "fediverse_delivery",
    "fediverse_follower",
    "gathering",
    "introduction_round",
    "login_session",
    "membership",
    "metadata",
    "online_join",
    "organisation",
    "organiser_invitation",
    "outbox",
    "programme_release",
    "programme_session",
    "public_generation",
    "question",
    "registration",
    "room",
    "scan",
    "session_host",
    "session_place",
    "session_speaker",
    "speaker",
    "speaker_photo",
    "steward_pass",
    "steward_pass_session",
    "supporter",
    "throttle",
    "ticket_type",
    "track",
    "venue",
]
