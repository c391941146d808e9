"""Security headers on every API response, and the ``Host`` allow-list.

Every answer of the platform server and of a ``podium serve`` replica carries
``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``, ``X-Frame-Options:
DENY`` and a Content-Security-Policy that loads nothing and may not be framed, plus
``Cache-Control: no-store`` (answers hold project data for one key). The web UI under
``/ui/`` sets its own stricter page policy first (:mod:`podium.ui.headers`); headers a
response already has are kept. ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from
their CDN, so they get a policy that allows exactly that.

Under TLS (``podium up --tls ...``) the server wraps its whole app in
:class:`StrictTransport`, so every answer, the prediction path's too, also carries
``Strict-Transport-Security`` (:data:`HSTS_HEADER`).

The middlewares are pure ASGI: on the prediction path they cost one list scan.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.api.problems import problem_response
from podium.errors import InvalidInputError

__all__ = [
    "API_POLICY",
    "DOCS_POLICY",
    "HSTS_HEADER",
    "LOOPBACK_HOSTS",
    "SECURITY_HEADERS",
    "AllowedHosts",
    "SecurityHeaders",
    "StrictTransport",
    "add_security_headers",
    "default_allowed_hosts",
    "install_security_headers",
    "parse_allowed_hosts",
]

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# FastAPI's /docs and /redoc pages: a script and styles from jsDelivr, ReDoc's fonts
# from Google, an inline bootstrap script, and fetches of /openapi.json.
DOCS_POLICY = (
    "default-src 'none'; script-src https://cdn.jsdelivr.net 'unsafe-inline'; "
    "style-src https://cdn.jsdelivr.net https://fonts.googleapis.com 'unsafe-inline'; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; connect-src 'self'; worker-src blob:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", API_POLICY.encode()),
    (b"cache-control", b"no-store"),
)
_DOCS_HEADERS = tuple(
    (name, DOCS_POLICY.encode()) if name == b"content-security-policy" else (name, value)
    for name, value in SECURITY_HEADERS
)
_CACHEABLE_HEADERS = tuple(item for item in SECURITY_HEADERS if item[0] != b"cache-control")
_NAMES = frozenset(name for name, _ in SECURITY_HEADERS)

# A year, the host only: a certificate for this server says nothing of its subdomains.
HSTS_HEADER = (b"strict-transport-security", b"max-age=31536000")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_LOOPBACK_BINDS = frozenset({*LOOPBACK_HOSTS, "[::1]"})


def add_security_headers(
    headers: list[tuple[bytes, bytes]], extra: Iterable[tuple[bytes, bytes]] = SECURITY_HEADERS
) -> None:
    """Append to ``headers`` (ASGI, lower-case names) each security header it lacks."""
    present = {name for name, _ in headers if name in _NAMES}
    if not present:
        headers.extend(extra)
        return
    headers.extend(item for item in extra if item[0] not in present)


class SecurityHeaders:
    """Add :data:`SECURITY_HEADERS` to every HTTP response of ``app`` that lacks them.

    Paths in ``docs_paths`` (Swagger UI, ReDoc) get :data:`DOCS_POLICY` instead of the
    API policy; paths under ``own_cache_prefix`` (the web UI, which lets its static files
    be cached) keep their own ``Cache-Control``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        docs_paths: Collection[str] = (),
        own_cache_prefix: str | None = None,
    ) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)
        self.own_cache_prefix = own_cache_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = SECURITY_HEADERS
        if path in self.docs_paths:
            extra = _DOCS_HEADERS
        elif self.own_cache_prefix is not None and (
            path == self.own_cache_prefix or path.startswith(self.own_cache_prefix + "/")
        ):
            extra = _CACHEABLE_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                add_security_headers(headers, extra)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class StrictTransport:
    """Add :data:`HSTS_HEADER` to every HTTP response of ``app`` that lacks it: the
    outermost wrapper of a server that listens with TLS (browsers ignore the header on
    plain HTTP, so it is added only there)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name == HSTS_HEADER[0] for name, _ in headers):
                    headers.append(HSTS_HEADER)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_hsts)


def install_security_headers(
    app: Starlette, *, docs_paths: Collection[str] = (), own_cache_prefix: str | None = None
) -> None:
    """Wrap ``app``'s whole middleware stack in :class:`SecurityHeaders`.

    Outside Starlette's outermost middleware, so a 500 from an unexpected exception
    carries the headers too (``add_middleware`` would sit inside it).
    """
    build = app.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        return SecurityHeaders(build(), docs_paths=docs_paths, own_cache_prefix=own_cache_prefix)

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]


def parse_allowed_hosts(value: str) -> tuple[str, ...]:
    """``"a.example, .example.org, *"`` as a tuple of lower-case host patterns.

    A pattern is a host name or address (no port), ``.domain`` for the domain and every
    name under it, or ``*`` for any host.
    """
    hosts = tuple(part.strip().lower().strip("[]") for part in value.split(",") if part.strip())
    for host in hosts:
        if "/" in host or " " in host or (":" in host and not _is_ipv6(host)):
            raise InvalidInputError(
                f"{host!r} is not a host name (leave out the scheme and the port)",
                field="allowed_hosts",
                remedy="pass names like api.example.com,.example.org,127.0.0.1 (or * for any)",
            )
    if not hosts:
        raise InvalidInputError(
            "the allowed hosts are empty",
            field="allowed_hosts",
            remedy="name at least one host, or * for any",
        )
    return hosts


def _is_ipv6(host: str) -> bool:
    return all(char in "0123456789abcdef:." for char in host)


def default_allowed_hosts(bind_host: str) -> tuple[str, ...]:
    """The hosts a server bound to ``bind_host`` answers when none are configured.

    On loopback: the loopback names only (a web page cannot reach the server through a
    DNS name it controls). Bound to anything else: that address and the loopback names,
    and any host when bound to every interface (``0.0.0.0``, ``::``), where the names
    clients use are not known: set ``PODIUM_ALLOWED_HOSTS`` there.
    """
    bind = bind_host.strip("[]").lower()
    if bind in ("0.0.0.0", "::", ""):
        return ("*",)
    if bind_host.lower() in _LOOPBACK_BINDS:
        return LOOPBACK_HOSTS
    return (bind, *LOOPBACK_HOSTS)


def host_of(value: bytes) -> str:
    """The host name of a ``Host`` header value, without the port, lower case."""
    text = value.decode("latin-1").strip().lower()
    if text.startswith("["):  # [::1]:8000
        return text[1 : text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


class AllowedHosts:
    """Answer 400 problem+json to a request whose ``Host`` is not in ``hosts``."""

    def __init__(self, app: ASGIApp, *, hosts: Collection[str]) -> None:
        self.app = app
        self.any = "*" in hosts
        self.exact = frozenset(host.strip("[]") for host in hosts if not host.startswith("."))
        self.domains = tuple(host for host in hosts if host.startswith("."))

    def allows(self, host: str) -> bool:
        """Whether ``host`` (no port) is one this server answers to."""
        if self.any or host in self.exact:
            return True
        return any(host.endswith(domain) or host == domain[1:] for domain in self.domains)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.any:
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope["headers"]:
            if name == b"host":
                given = value
                break
        host = host_of(given)
        if self.allows(host):
            await self.app(scope, receive, send)
            return
        error = InvalidInputError(
            f"this server does not answer to the host {host!r}",
            field="Host",
            remedy="use one of the server's names, or add this one to PODIUM_ALLOWED_HOSTS "
            "(podium up --allowed-hosts)",
        )
        if scope["type"] == "http":
            await problem_response(Request(scope), error)(scope, receive, send)
        else:
            await send({"type": "websocket.close", "code": 1008})
