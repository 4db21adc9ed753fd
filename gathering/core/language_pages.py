"""The language switch (issue 18): ``/language/cy?next=/g/...`` remembers the choice in a cookie
and goes back to the page. A link, not a form: it changes only how pages read, like ``?lang=``."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from gathering.core import i18n
from gathering.core.render import settings


def local_target(next_url: str | None) -> str:
    """Where to go back to: a path on this site only (never another site), without ``lang=``."""
    if not next_url or not next_url.startswith("/") or next_url.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(next_url)
    if parts.scheme or parts.netloc:
        return "/"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != i18n.QUERY])
    return urlunsplit(("", "", parts.path, query, ""))


async def switch_language(request: Request) -> Response:
    code = request.path_params["code"]
    if code not in i18n.LANGUAGES:
        return PlainTextResponse(
            f"No such language here. Choose one of: {', '.join(i18n.LANGUAGES)}.",
            status_code=404,
        )
    response = RedirectResponse(local_target(request.query_params.get("next")), status_code=303)
    response.set_cookie(
        i18n.COOKIE,
        code,
        max_age=i18n.COOKIE_MAX_AGE,
        secure=settings(request).secure_cookies,
        httponly=True,
        samesite="lax",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


routes = [Route("/language/{code}", switch_language, name="language:switch")]
