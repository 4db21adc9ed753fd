"""Trusted devices: a browser that has signed in to an account before is known to that account.

After a sign-in the browser gets a long-lived cookie, signed with the secret key, naming a random
device id and the accounts signed in on it (at most ``MAX_ACCOUNTS``). It is sent only to
``/signin`` and grants nothing by itself: the password is always checked. It only decides whose
wrong guesses delay this device's next try: on a trusted device only its own failures count, so
a stranger hammering an organiser's address from elsewhere never holds up the organiser's own
laptop or phone (issue 14, item 11). The id is random and the cookie holds no email address.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

DEVICE_COOKIE = "gathering_device"
DEVICE_COOKIE_PATH = "/signin"
DEVICE_LIFETIME = dt.timedelta(days=400)  # the longest a browser keeps a cookie (RFC 6265bis)
MAX_ACCOUNTS = 5
_SALT = "gathering.trusted-device"


@dataclass(frozen=True)
class Device:
    id: str
    account_ids: tuple[int, ...]

    def trusts(self, account_id: int) -> bool:
        return account_id in self.account_ids


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def read_device(token: str, *, secret_key: str) -> Device | None:
    """The device a cookie names, or None if it is missing, forged, expired or malformed."""
    if not token or len(token) > 500:
        return None
    try:
        value = _serializer(secret_key).loads(token, max_age=int(DEVICE_LIFETIME.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(value, dict):
        return None
    device_id, accounts = value.get("d"), value.get("a")
    if not isinstance(device_id, str) or not isinstance(accounts, list):
        return None
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in accounts):
        return None
    return Device(device_id, tuple(accounts))


def remember(device: Device | None, account_id: int, *, secret_key: str) -> str:
    """A fresh cookie value trusting this device for ``account_id`` (a new device if None)."""
    device_id = device.id if device is not None else secrets.token_urlsafe(16)
    others = [a for a in (device.account_ids if device else ()) if a != account_id]
    accounts = [account_id, *others][:MAX_ACCOUNTS]
    return _serializer(secret_key).dumps({"d": device_id, "a": accounts})
