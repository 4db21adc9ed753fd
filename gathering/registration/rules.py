"""The registration feature's rules, as one public face for other features and tests.

The rules live by topic; import from their home when you can:

- ``form``: what the form offers and checking what was typed (``RegistrationInput``).
- ``registering``: from the form to a pending registration (``register``); ``limits``: holds,
  attempt limits and repeat mail (issue 14).
- ``confirming``: the email confirmed, the ticket mailed.
- ``places``: holds, waiting lists and offers; the housekeeping's ``expire_overdue``.
- ``manage``: the manage link (booking, answers, giving up, data, erasure, the ticket).
- ``changing``: adding sessions and changing the ticket type from the manage link (issue 16);
  ``undoing``: taking back a place or a registration given up; ``booking_mail``: the booking
  as mail shows it (places and waiting-list entries apart); ``offers``: an offer's page.
- ``notices``: mail about released changes and reminders.
- ``tokens``: signed links (``Links``, ``manage_token``); ``words``: what people read.
"""

from __future__ import annotations

from gathering.registration.changing import add_sessions, change_ticket_type
from gathering.registration.confirming import Confirmed, confirm_registration
from gathering.registration.form import (
    CONTACT,
    MATCH,
    Choice,
    Question,
    RegistrationInput,
    RegistrationPage,
    registration_page,
)
from gathering.registration.joining import JoiningLink
from gathering.registration.limits import Limits
from gathering.registration.manage import (
    Booking,
    PlaceView,
    Ticket,
    booking,
    cancel_place,
    cancel_registration,
    erase,
    personal_data,
    ticket,
    update_answers,
)
from gathering.registration.notices import NOTIFIED_KINDS, change_notifier, queue_reminders
from gathering.registration.places import accept_offer, expire_overdue
from gathering.registration.registering import Registered, register
from gathering.registration.tokens import Links, manage_token
from gathering.registration.undoing import undo_cancellation, undo_give_up
from gathering.registration.words import MATCH_TEXT, MAX_ANSWER, MAX_NAME, contact_text

__all__ = [
    "CONTACT",
    "MATCH",
    "MATCH_TEXT",
    "MAX_ANSWER",
    "MAX_NAME",
    "NOTIFIED_KINDS",
    "Booking",
    "Choice",
    "Confirmed",
    "JoiningLink",
    "Limits",
    "Links",
    "PlaceView",
    "Question",
    "Registered",
    "RegistrationInput",
    "RegistrationPage",
    "Ticket",
    "accept_offer",
    "add_sessions",
    "booking",
    "cancel_place",
    "cancel_registration",
    "change_notifier",
    "change_ticket_type",
    "confirm_registration",
    "contact_text",
    "erase",
    "expire_overdue",
    "manage_token",
    "personal_data",
    "queue_reminders",
    "register",
    "registration_page",
    "ticket",
    "undo_cancellation",
    "undo_give_up",
    "update_answers",
]
