"""Security headers on every response: a strict CSP (no inline script or style) and friends."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# The embed pages (the public programme in another site's <iframe>) and nothing else: the same
# policy, with any page allowed to frame them. X-Frame-Options has no "anyone" value, so the
# middleware leaves it off a response carrying exactly this policy.
FRAMEABLE_CSP = CSP.replace("frame-ancestors 'none'", "frame-ancestors *")
FRAMEABLE_HEADERS = {"content-security-policy": FRAMEABLE_CSP}

BASE_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    # Secret links (manage links, personal feeds) must never leak through the Referer header.
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(self), microphone=(), geolocation=(), payment=(), usb=()",
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        headers = dict(BASE_HEADERS)
        if hsts:
            headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
        self.raw = [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A header the response set itself (a page's own CSP, say) is kept as it is.
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _value in headers}
                if (b"content-security-policy", FRAMEABLE_CSP.encode()) in headers:
                    present.add(b"x-frame-options")
                headers += [pair for pair in self.raw if pair[0] not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
