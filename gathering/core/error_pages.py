"""One table from domain error codes to HTTP status, and the error pages."""

from __future__ import annotations

from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gathering.core.errors import GatheringError
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
        {"status": status, "title": HTTPStatus(status).phrase, "message": message},
        status_code=status,
        headers=headers,
    )


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatheringError)
    status = STATUS_BY_CODE.get(exc.code, 400)
    return error_response(request, status, exc.message, exc.code)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {
        404: "There is nothing at this address. It may have moved, or the link may be mistyped.",
        405: "This address does not accept that kind of request.",
    }
    message = messages.get(exc.status_code, str(exc.detail))
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    return error_response(request, exc.status_code, message, code)


async def server_error(request: Request, exc: Exception) -> Response:
    return error_response(
        request, 500, "Something went wrong on our side. Please try again.", "server_error"
    )
