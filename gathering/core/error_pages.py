"""One table from domain error codes to HTTP status, and the error pages."""

from __future__ import annotations

from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gathering.core.errors import GatheringError
from gathering.core.i18n import N_, gettext
from gathering.core.render import render

STATUS_BY_CODE = {
    "not_found": 404,
    "forbidden": 403,
    "not_signed_in": 401,
    "invalid_input": 422,
    "conflict": 409,
    "throttled": 429,
    "busy": 503,
    "database_unavailable": 503,
}


# The error pages' headings are HTTP's own reason phrases, in the reader's language.
PHRASES = (
    N_("Bad Request"),
    N_("Unauthorized"),
    N_("Forbidden"),
    N_("Not Found"),
    N_("Method Not Allowed"),
    N_("Conflict"),
    N_("Request Entity Too Large"),
    N_("Unsupported Media Type"),
    N_("Unprocessable Entity"),
    N_("Too Many Requests"),
    N_("Internal Server Error"),
    N_("Not Implemented"),
    N_("Service Unavailable"),
)
NOTHING_HERE = N_(
    "There is nothing at this address. It may have moved, or the link may be mistyped."
)
WRONG_METHOD = N_("This address does not accept that kind of request.")
OUR_FAULT = N_("Something went wrong on our side. Please try again.")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def error_response(request: Request, status: int, message: str, code: str) -> Response:
    headers = {"retry-after": "2"} if status == 503 else None
    if _wants_json(request):
        return JSONResponse({"error": code, "message": message}, status, headers=headers)
    return render(
        request,
        "error.html",
        {"status": status, "title": gettext(HTTPStatus(status).phrase), "message": message},
        status_code=status,
        headers=headers,
    )


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatheringError)
    status = STATUS_BY_CODE.get(exc.code, 400)
    return error_response(request, status, exc.message, exc.code)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: NOTHING_HERE, 405: WRONG_METHOD}
    known = messages.get(exc.status_code)
    message = gettext(known) if known else str(exc.detail)
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    return error_response(request, exc.status_code, message, code)


async def server_error(request: Request, exc: Exception) -> Response:
    return error_response(request, 500, gettext(OUR_FAULT), "server_error")
