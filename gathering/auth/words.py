"""What people read from sign-in, sign-out and password resets, in one place (ready for gettext).

Throttle refusals carry ``{wait}``, filled in by ``gathering.core.throttles.wait_words``.
"""

from __future__ import annotations

ENTER_BOTH = "Enter your email address and password."
NO_MATCH = "That email address and password do not match an account."
SIGN_IN_FAILED = "Sign-in failed."
ENTER_EMAIL = "Enter an email address like name@example.org."
ENTER_NAME = "Enter a name of up to 200 characters."
TOO_SHORT = "Use a password of at least {length} characters."
NO_ORGANISATION = "No organisation {slug!r}."

TOO_MANY_FOR_ACCOUNT = (
    "Too many sign-in attempts for this account. Please wait {wait} and try again, or reset "
    "your password. Signing in on a device you have used before is not held up."
)
TOO_MANY_FROM_NETWORK = (
    "Too many sign-in attempts from this network. Please wait {wait} and try again."
)
TOO_MANY_ON_DEVICE = "Too many sign-in attempts on this device. Please wait {wait} and try again."

RESET_EXPIRED = "This reset link has expired. Ask for a new one."
RESET_INVALID = "This reset link is not valid. Ask for a new one."
RESET_USED = "This reset link has already been used. Ask for a new one."
CHANGED_NOTICE = "Your password has been changed. Sign in with the new one."

FORM_EXPIRED_TITLE = "Form expired · Gathering"
FORM_EXPIRED_HEADING = "This form has expired"
FORM_EXPIRED_TEXT = (
    "For your security, forms work only from a page this site has just shown you. Go back, "
    "reload the page, and send the form again. Nothing was saved."
)
