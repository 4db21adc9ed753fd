"""Signed links: confirm, manage (and the ticket behind it), offers; the URL templates in mail.

The manage token is ``<id>-<signature>`` over a per-registration nonce; confirm and offer
tokens are itsdangerous-signed ids with a purpose salt, so one kind never passes for another.
"""

from __future__ import annotations

import base64
import functools
import hmac
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, Signer, URLSafeTimedSerializer

from gathering.core.errors import InvalidInput
from gathering.core.i18n import gettext
from gathering.registration import words


@dataclass(frozen=True)
class Links:
    """Absolute URL templates (each with ``{token}``) and the secret that signs the tokens."""

    secret_key: str
    confirm: str
    manage: str
    offer: str
    agenda: str = ""  # with {token}: the personal agenda page
    ticket: str = ""  # with {token}: the ticket page (the manage token)
    session_page: str = ""  # with {slug} and {session_id}
    base_url: str = ""
    join: str = ""  # with {token}: a place's personal joining link (issue 20)
    add_sessions: str = ""  # with {token}: the manage link's "add sessions" page (issue 16)

    def add_sessions_url(self, registration_id: int, nonce: str, session_ids: list[int]) -> str:
        """The "add sessions" page with these sessions chosen (the manage page without it)."""
        if not self.add_sessions:
            return self.manage_url(registration_id, nonce)
        url = self.add_sessions.format(token=manage_token(self.secret_key, registration_id, nonce))
        query = "&".join(f"session={session_id}" for session_id in session_ids)
        return f"{url}?{query}" if query else url

    def join_url(self, place_id: int, manage_key: str) -> str:
        return self.join.format(token=join_token(self.secret_key, place_id, manage_key))

    def ticket_url(self, registration_id: int, nonce: str) -> str:
        return self.ticket.format(token=manage_token(self.secret_key, registration_id, nonce))

    def agenda_url(self, feed_key: str) -> str:
        return self.agenda.format(token=feed_key)

    def session_url(self, slug: str, session_id: int) -> str:
        return self.session_page.format(slug=slug, session_id=session_id)

    def confirm_url(self, registration_id: int) -> str:
        return self.confirm.format(token=_signed(self.secret_key, "confirm", registration_id))

    def manage_url(self, registration_id: int, nonce: str) -> str:
        return self.manage.format(token=manage_token(self.secret_key, registration_id, nonce))

    def offer_url(self, place_id: int) -> str:
        return self.offer.format(token=_signed(self.secret_key, "offer", place_id))


@functools.lru_cache(maxsize=32)
def _serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"gathering.{purpose}")


@functools.lru_cache(maxsize=32)
def _signer(secret_key: str, purpose: str) -> Signer:
    return _serializer(secret_key, purpose).make_signer()


def _signed(secret_key: str, purpose: str, value: int) -> str:
    """``_serializer(secret_key, purpose).dumps(value)``, with a signer made once (``dumps``
    made one per call: most of its cost); the same token."""
    payload = _serializer(secret_key, purpose).dump_payload(value)
    return _signer(secret_key, purpose).sign(payload).decode()


def manage_token(secret_key: str, registration_id: int, nonce: str) -> str:
    """``<id>-<signature>``: the signature covers a per-registration random nonce, so erasing
    the registration (nonce gone) or rotating the nonce kills every old link, and a database
    copy alone cannot forge a link without the secret key."""
    mac = hmac.new(secret_key.encode(), f"manage|{registration_id}|{nonce}".encode(), "sha256")
    signature = base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")
    return f"{registration_id}-{signature}"


def join_token(secret_key: str, place_id: int, manage_key: str) -> str:
    """``<place id>-<signature>``: a place's personal joining link. Nothing of it is stored; it
    is signed over the registration's manage key, so erasure kills it and a database copy alone
    cannot make one."""
    mac = hmac.new(secret_key.encode(), f"join|{place_id}|{manage_key}".encode(), "sha256")
    signature = base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")
    return f"{place_id}-{signature}"


def manage_id(token: str) -> int | None:
    """The registration id a manage token names, or None if it cannot be one of ours."""
    head, _, _ = token.partition("-")
    if not (head.isascii() and head.isdigit() and len(head) <= 12) or len(token) > 100:
        return None
    return int(head)


def is_manage_token(token: str, secret_key: str, registration_id: int, nonce: str) -> bool:
    """Whether ``token`` is the manage token of this registration (constant time)."""
    expected = manage_token(secret_key, registration_id, nonce)
    return hmac.compare_digest(expected.encode(), token.encode())


def confirm_id(token: str, secret_key: str, confirm_hours: int) -> int:
    """The registration id of a confirmation link; InvalidInput if forged or expired."""
    try:
        value = _serializer(secret_key, "confirm").loads(token, max_age=confirm_hours * 3600)
    except SignatureExpired:
        raise InvalidInput({"token": gettext(words.CONFIRM_LINK_EXPIRED)}) from None
    except (BadSignature, ValueError, TypeError):
        raise InvalidInput({"token": gettext(words.CONFIRM_LINK_INVALID)}) from None
    if not isinstance(value, int):
        raise InvalidInput({"token": gettext(words.CONFIRM_LINK_INVALID)})
    return value


def offer_id(token: str, secret_key: str) -> int:
    """The place id of an offer link; InvalidInput if forged."""
    try:
        place_id = _serializer(secret_key, "offer").loads(token)
    except (BadSignature, ValueError, TypeError):
        raise InvalidInput({"token": gettext(words.OFFER_LINK_INVALID)}) from None
    if not isinstance(place_id, int):
        raise InvalidInput({"token": gettext(words.OFFER_LINK_INVALID)})
    return place_id
