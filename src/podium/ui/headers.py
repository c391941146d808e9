"""Security headers on every UI response: a strict CSP and no framing, sniffing or caching.

Pages are never cached. Static files linked with their version (``?v=HASH``, see
:func:`podium.ui.rendering.static_version`) are cached for a year and never revalidated,
so a page load after the first requests nothing but the page: a revalidation of the
stylesheet would hold up the first paint by a round trip.

The policy allows nothing but the UI's own files: no inline script or style (the pages
have none; charts are inline SVG drawn with presentation attributes, which are not
styles), no other origin, no plugin, no framing, and forms post back to the UI only.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_CACHE", "SecurityHeaders"]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

STATIC_CACHE = "public, max-age=31536000, immutable"
"""The caching of a versioned static file; one without ``v=`` is revalidated each time."""

_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


class SecurityHeaders:
    """Add the headers above; pages (not static files) are also never cached."""

    def __init__(self, app: ASGIApp, *, static_prefix: str) -> None:
        self.app = app
        self.static_prefix = static_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        page = not str(scope["path"]).startswith(self.static_prefix)
        versioned = b"v=" in scope.get("query_string", b"")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    headers[name] = value
                if page:
                    headers["cache-control"] = "no-store"
                elif message.get("status") in (200, 304):
                    headers["cache-control"] = STATIC_CACHE if versioned else "no-cache"
            await send(message)

        await self.app(scope, receive, send_with_headers)
