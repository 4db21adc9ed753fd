"""The registration form's limits (issue 14: place squatting, mail flooding), over core.throttles.

- **Holds**: an unconfirmed registration holds its places for ``hold_minutes`` only. After that
  the housekeeping (every minute) gives each place back: offered to the confirmed people
  waiting, else free again; the registration's place goes onto the waiting list, and
  confirming later still takes a place while one is left, or keeps the waiting-list place.
- **Holds per client address**: at most ``holds_per_client`` unconfirmed registrations from one
  network address hold places within ``hold_minutes``. Past that they are still registered,
  and take their places when confirmed, if any are left: so a squatter gains nothing by posting
  the form over and over, and a venue's shared Wi-Fi refuses nobody.
- **Attempts per client address**: ``attempts_per_client`` per 10 minutes, generous enough for a
  venue's registration rush behind one address; past it the form answers 429 in words.
- **Attempts per recipient**: ``attempts_per_recipient`` per hour for one email address, on
  every gathering. Past it nothing more is done for the address (no registration, no mail),
  and the page answers as always, so a stranger cannot learn anything from it.
- **Mail to a registered address**: registering again mails the owner their link at most once
  per ``repeat_mail_minutes``.

Addresses, network or email, are kept in the throttle table only as keyed hashes: the table
names nobody. Every count is one upsert statement, whatever its state, so counting costs the
same for an address seen before as for a new one (issue 14, timing).
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import throttles
from gathering.core.settings import Settings
from gathering.registration import words

CLIENT_WINDOW = dt.timedelta(minutes=10)
RECIPIENT_WINDOW = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Limits:
    """The registration form's limits; the defaults are the settings' defaults."""

    hold_minutes: int = 20
    holds_per_client: int = 10
    attempts_per_client: int = 600
    attempts_per_recipient: int = 10
    repeat_mail_minutes: int = 60

    @classmethod
    def of(cls, config: Settings) -> Limits:
        """The limits a running app was configured with."""
        return cls(
            hold_minutes=config.unconfirmed_hold_minutes,
            holds_per_client=config.held_registrations_per_client,
            attempts_per_client=config.registrations_per_client,
            attempts_per_recipient=config.registrations_per_recipient,
            repeat_mail_minutes=config.repeat_mail_minutes,
        )

    @property
    def hold(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.hold_minutes)


def subject(secret_key: str, kind: str, value: str) -> str:
    """A keyed hash of an address: the same address always gives the same throttle subject,
    and the subject gives nothing back without the secret key."""
    mac = hmac.new(secret_key.encode(), f"{kind}|{value}".encode(), "sha256").digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


async def count_client_attempt(
    conn: AsyncConnection, limits: Limits, client: str, now: dt.datetime
) -> None:
    """Count a form post from the client subject ``client``; Throttled past the limit."""
    rate = throttles.AttemptRate(
        "registration-client", limits.attempts_per_client, CLIENT_WINDOW, words.TOO_MANY_FROM_HERE
    )
    await throttles.count_attempt(conn, rate, client, now)


async def is_recipient_allowed(
    conn: AsyncConnection, limits: Limits, recipient: str, now: dt.datetime
) -> bool:
    """Count an attempt for the recipient subject; False past the limit."""
    key = throttles.throttle_key("registration-recipient", recipient)
    row = await throttles.hit(conn, key, now, RECIPIENT_WINDOW)
    return row.hits <= limits.attempts_per_recipient


async def may_hold(conn: AsyncConnection, limits: Limits, client: str, now: dt.datetime) -> bool:
    """Count a hold for the client subject; False when it has held its share already."""
    key = throttles.throttle_key("registration-holds", client)
    row = await throttles.hit(conn, key, now, limits.hold)
    return row.hits <= limits.holds_per_client


async def may_mail_again(
    conn: AsyncConnection, limits: Limits, recipient: str, now: dt.datetime
) -> bool:
    """Whether a registered address may be mailed its link again now (and count it)."""
    key = throttles.throttle_key("registration-repeat-mail", recipient)
    window = dt.timedelta(minutes=limits.repeat_mail_minutes)
    return (await throttles.hit(conn, key, now, window)).hits == 1
