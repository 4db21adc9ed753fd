"""The error tree. Every domain error has a stable machine ``code``; web/ maps codes to HTTP."""

from __future__ import annotations

from gathering.core.i18n import N_, gettext

CORRECT_THE_FIELDS = N_("Please correct the marked fields.")


class GatheringError(Exception):
    """Base of every error the service raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field


class ConfigError(GatheringError):
    """The configuration cannot work; the CLI prints the message as one line and exits 2."""

    code = "bad_config"


class DatabaseUnavailable(GatheringError):
    """The database cannot be reached or opened."""

    code = "database_unavailable"


class NotFound(GatheringError):
    code = "not_found"


class Forbidden(GatheringError):
    """The caller is known but may not do this."""

    code = "forbidden"


class NotSignedIn(GatheringError):
    code = "not_signed_in"


class InvalidInput(GatheringError):
    """Input the user can correct; ``errors`` maps a form field to a message."""

    code = "invalid_input"

    def __init__(self, errors: dict[str, str], message: str | None = None):
        super().__init__(message if message is not None else gettext(CORRECT_THE_FIELDS))
        self.errors = errors


class Conflict(GatheringError):
    """The request clashes with the current state (already registered, already released...)."""

    code = "conflict"


class Busy(GatheringError):
    """The database stayed locked longer than the busy timeout; the client should retry."""

    code = "busy"
