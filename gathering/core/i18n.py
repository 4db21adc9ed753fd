"""Languages (issue 18): which one a reader gets, the words in it, and its dates and times.

Catalogues are gettext's, made with Babel (``make messages`` extracts and updates them,
``make`` compiles the ``.mo`` files): ``gathering/locale/<code>/LC_MESSAGES/messages.po``.
Adding a language is a translator's file plus one line in :data:`LANGUAGES`.

The language of the work in hand lives in a context variable: :class:`LanguageMiddleware` sets it
per request (an explicit choice, then the browser's ``Accept-Language``, then English), a
gathering's pages may lower it to the gathering's own default when the reader chose nothing
(:func:`prefer_default`), and the mail sender sets it to the registrant's language around each
message (:func:`use_language`). Words kept in Python modules (each feature's ``words.py``) are
marked with :func:`N_` and translated where they are shown, with :func:`gettext`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gettext as _gettext
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from babel import lists as babel_lists
from babel.support import Translations
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gathering.core.http import weighted

# Code → the language's own name, as the switch shows it. English is the source language.
LANGUAGES: Final = {"en": "English", "cy": "Cymraeg"}
DEFAULT_LANGUAGE: Final = "en"
# Babel's locale for each language's dates and numbers.
_LOCALES: Final = {"en": "en_GB", "cy": "cy_GB"}
LOCALE_DIR: Final = Path(__file__).resolve().parents[1] / "locale"
DOMAIN: Final = "messages"
COOKIE: Final = "gathering_lang"
COOKIE_MAX_AGE: Final = 365 * 24 * 3600
QUERY: Final = "lang"  # ?lang=cy shows one page in that language (hreflang alternates)
# Set in a request's scope by a page kept for many readers: the query parameters its key names,
# the only ones its links may repeat (another reader's query string must never be kept).
KEPT_QUERY: Final = "gathering.kept_query"
KEPT_QUERY_LENGTH: Final = 100  # as much of each value as kept pages' keys take

_language: ContextVar[str] = ContextVar("gathering_language", default=DEFAULT_LANGUAGE)
# How the request's language was chosen: "explicit" (?lang= or the cookie), "browser"
# (Accept-Language) or "fallback" (nothing said; a gathering's default may apply).
_chosen_by: ContextVar[str] = ContextVar("gathering_language_chosen_by", default="fallback")


def N_(message: str) -> str:
    """Mark a string for the catalogue without translating it here (module-level words)."""
    return message


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The compiled catalogue of ``language`` (English needs none: its words are the msgids)."""
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return _gettext.NullTranslations()
    mo = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not mo.is_file():
        raise RuntimeError(f"{mo.name} for {language!r} is not compiled: run `make setup`")
    with mo.open("rb") as file:
        return Translations(file, domain=DOMAIN)


def current_language() -> str:
    return _language.get()


def gettext(message: str) -> str:
    return translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return translations(_language.get()).pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).npgettext(context, singular, plural, n)


@contextlib.contextmanager
def use_language(language: str | None) -> Iterator[str]:
    """Run a block in ``language`` (unknown or None: English), e.g. a mail to a registrant."""
    chosen = language if language in LANGUAGES else DEFAULT_LANGUAGE
    token = _language.set(chosen)
    try:
        yield chosen
    finally:
        _language.reset(token)


def prefer_default(language: str | None) -> None:
    """A gathering's own default, for a reader who said nothing (no choice, no known browser
    language). Called by a gathering's pages before they render."""
    if _chosen_by.get() == "fallback" and language in LANGUAGES:
        _language.set(language)


def prefer_own(language: str | None) -> None:
    """A person's own language (the one they registered in), for what is theirs alone, such as
    their calendar feed, which a calendar app fetches with its own Accept-Language: it yields
    only to a choice made in the address or the cookie."""
    if _chosen_by.get() != "explicit" and language in LANGUAGES:
        _language.set(language)


def page_key() -> str:
    """The language part of a kept page's key: a page rendered for a reader who said nothing
    (where a gathering's default may apply) is kept apart from one asked for in a language."""
    language = _language.get()
    return f"?{language}" if _chosen_by.get() == "fallback" else language


def chosen_explicitly() -> bool:
    return _chosen_by.get() == "explicit"


def from_accept_language(header: str) -> str | None:
    """The best of our languages in an ``Accept-Language`` header, by its q-values; None if it
    names none of them (``cy-GB`` counts as ``cy``; ``*`` names nothing in particular)."""
    best: tuple[float, int, str] | None = None
    for position, (tag, quality) in enumerate(weighted(header, limit=20)):
        code = tag.lower().split("-", 1)[0]
        if code not in LANGUAGES or quality <= 0 or quality > 1:
            continue
        if best is None or (quality, -position) > (best[0], -best[1]):
            best = (quality, position, code)
    return best[2] if best else None


def _from_query(query_string: bytes) -> str | None:
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name == QUERY.encode():
            code = value.decode("latin-1")
            return code if code in LANGUAGES else None
    return None


def _from_cookie(header: bytes) -> str | None:
    if COOKIE.encode() not in header:
        return None
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(header.decode("latin-1"))
    except CookieError:  # a malformed Cookie header: as if there were none
        return None
    morsel = cookie.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value in LANGUAGES else None


def choose(scope: Scope) -> tuple[str, str]:
    """The request's language and how it was chosen (see ``_chosen_by``)."""
    query = _from_query(scope.get("query_string", b""))
    if query:
        return query, "explicit"
    cookie_header = b""
    accept = b""
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            cookie_header = value
        elif name == b"accept-language":
            accept = value
    cookie = _from_cookie(cookie_header)
    if cookie:
        return cookie, "explicit"
    browser = from_accept_language(accept.decode("latin-1")) if accept else None
    if browser:
        return browser, "browser"
    return DEFAULT_LANGUAGE, "fallback"


class LanguageMiddleware:
    """Sets the request's language; says which in ``Content-Language`` and that the answer
    varies by ``Accept-Language`` and ``Cookie`` (a shared cache must not mix languages)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)  # files read the same in every language
            return
        language, how = choose(scope)
        token = _language.set(language)
        how_token = _chosen_by.set(how)

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                vary = [value for name, value in headers if name == b"vary"]
                wanted = [b"Accept-Language", b"Cookie"]
                missing = [
                    item for item in wanted if not any(item.lower() in v.lower() for v in vary)
                ]
                if missing:
                    headers = [(n, v) for n, v in headers if n != b"vary"]
                    headers.append((b"vary", b", ".join([*vary, *missing])))
                if not any(name == b"content-language" for name, _ in headers):
                    headers.append((b"content-language", _language.get().encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_language)
        finally:
            _chosen_by.reset(how_token)
            _language.reset(token)


# --- dates and times in the reader's language ---------------------------------------------------


def _locale() -> str:
    return _LOCALES.get(_language.get(), "en_GB")


def format_date(day: dt.date, pattern: str = "d MMMM y") -> str:
    """A date in the current language (CLDR pattern): '21 September 2019', '21 Medi 2019'."""
    return babel_dates.format_date(day, pattern, locale=_locale())


def format_datetime(moment: dt.datetime, pattern: str, timezone: str | None = None) -> str:
    """A moment in the current language, in ``timezone`` (the gathering's) when given."""
    zone = ZoneInfo(timezone) if timezone else None
    return babel_dates.format_datetime(moment, pattern, tzinfo=zone, locale=_locale())


def format_time(moment: dt.datetime | dt.time, timezone: str | None = None) -> str:
    """'14:05': a 24-hour clock in both languages, as British and Welsh programmes print."""
    if isinstance(moment, dt.datetime) and timezone:
        moment = moment.astimezone(ZoneInfo(timezone))
    return f"{moment.hour:02d}:{moment.minute:02d}"


def format_list(items: list[str]) -> str:
    """'A, B and C' in the current language ('A, B a C' in Welsh)."""
    return babel_lists.format_list(list(items), locale=_locale()) if items else ""


def language_name(code: str) -> str:
    return LANGUAGES.get(code, code)
