"""What people read from sign-in, sign-out and password resets, in one place (ready for gettext).

Throttle refusals carry ``{wait}``, filled in by ``gathering.core.throttles.wait_words``.
"""

from __future__ import annotations

from gathering.core.i18n import N_

ENTER_BOTH = N_("Enter your email address and password.")
NO_MATCH = N_("That email address and password do not match an account.")
SIGN_IN_FAILED = N_("Sign-in failed.")
ENTER_EMAIL = N_("Enter an email address like name@example.org.")
ENTER_NAME = N_("Enter a name of up to 200 characters.")
TOO_SHORT = N_("Use a password of at least {length} characters.")
NO_ORGANISATION = N_("No organisation {slug!r}.")

TOO_MANY_FOR_ACCOUNT = N_(
    "Too many sign-in attempts for this account. Please wait {wait} and try again, or reset "
    "your password. Signing in on a device you have used before is not held up."
)
TOO_MANY_FROM_NETWORK = N_(
    "Too many sign-in attempts from this network. Please wait {wait} and try again."
)
TOO_MANY_ON_DEVICE = N_(
    "Too many sign-in attempts on this device. Please wait {wait} and try again."
)

RESET_EXPIRED = N_("This reset link has expired. Ask for a new one.")
RESET_INVALID = N_("This reset link is not valid. Ask for a new one.")
RESET_USED = N_("This reset link has already been used. Ask for a new one.")
CHANGED_NOTICE = N_("Your password has been changed. Sign in with the new one.")

FORM_EXPIRED_TITLE = N_("Form expired · Gathering")
FORM_EXPIRED_HEADING = N_("This form has expired")
FORM_EXPIRED_TEXT = N_(
    "For your security, forms work only from a page this site has just shown you. Go back, "
    "reload the page, and send the form again. Nothing was saved."
)
