"""The steward's pages: open a pass with its PIN, then the scan page (issue 6).

Both pages are shells for ``static/js/door-open.js`` and ``static/js/door-scan.js``, which talk
to the door's JSON API (``gathering.door.api``). Neither ever shows people: names appear only
in the answer to a scan, drawn by the script.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gathering.core.clock import utc_now
from gathering.core.http import NO_STORE
from gathering.core.render import database, render, settings
from gathering.core.templating import STATIC
from gathering.door import offline_api, page_rules
from gathering.door.api import COOKIE
from gathering.door.devices import PassRefused, StewardDevice, device_for_token
from gathering.door.page_words import open_page_words, scan_page_words

# The QR decoder from the npm registry (jsQR), copied here by `make` (see the Makefile); without
# it the scan page still works where the browser has BarcodeDetector, and by typed codes.
DECODER = "vendor/jsQR.js"


def _device(request: Request) -> StewardDevice | None:
    token = request.cookies.get(COOKIE, "")
    return device_for_token(token, secret_key=settings(request).secret_key)


async def open_page(request: Request) -> Response:
    link = await page_rules.pass_link(
        database(request), request.path_params["token"], device=_device(request), now=utc_now()
    )
    status = 410 if link.problem in ("pass_revoked", "pass_expired") else 200
    context = {"link": link, "token": request.path_params["token"], "door_words": open_page_words()}
    return render(request, "door/open.html", context, status_code=status, headers=NO_STORE)


async def scan_page(request: Request) -> Response:
    device = _device(request)
    if device is None:
        context = {"reason": "not_signed_in", "message": ""}
        return render(request, "door/signed_out.html", context, status_code=401, headers=NO_STORE)
    try:
        page = await page_rules.door_page(database(request), device, now=utc_now())
    except PassRefused as refused:
        context = {"reason": refused.code, "message": refused.message}
        return render(request, "door/signed_out.html", context, status_code=403, headers=NO_STORE)
    decoder = DECODER if (STATIC / DECODER).is_file() else None
    return render(
        request,
        "door/scan.html",
        {"page": page, "decoder": decoder, "door_words": scan_page_words()},
        headers=NO_STORE,
    )


# /door/scan first: /door/{token} would take it otherwise (the domain also refuses such tokens).
routes: list[BaseRoute] = [
    *offline_api.routes,
    Route("/door/scan", scan_page, name="door:scan_page"),
    Route("/door/{token}", open_page, name="door:open_page"),
]
