"""The HTTP session every remote service shares: auth, project header, error mapping.

A problem+json answer becomes the :class:`~podium.errors.PodiumError` subclass its
``code`` names (else the one its status means), with the server's message, field, remedy
and extra members (``request_id``, ``old_value``, ...) in ``details``. A server that does
not answer, or a gateway in front of it that says so, is a
:class:`~podium.errors.BackendUnavailableError`.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import quote

import httpx

from podium import errors
from podium.errors import BackendUnavailableError, PodiumError, error_for_code

__all__ = ["ApiClient", "segment", "url_path"]

_GATEWAY_DOWN = {502, 503, 504}
# request_id is not here: a remote error keeps the server's request id in its details.
_PROBLEM_MEMBERS = frozenset(
    {"type", "title", "status", "detail", "code", "field", "remedy", "instance", "details"}
)


def _error_classes() -> dict[str, type[PodiumError]]:
    classes = [getattr(errors, name) for name in errors.__all__]
    return {
        cls.default_code: cls
        for cls in classes
        if isinstance(cls, type) and issubclass(cls, PodiumError) and cls is not PodiumError
    }


_BY_CODE = _error_classes()


def segment(value: object) -> str:
    """``value`` as one URL path segment: every character but letters, digits and ``_-~``
    escaped, '.' too, so a '/' never splits it and a ``..`` is never resolved away."""
    return quote(str(value), safe="").replace(".", "%2E")


def url_path(template: str, *segments: object) -> str:
    """``template`` with each ``{}`` replaced by the next of ``segments``, escaped:
    ``url_path("/v1/models/{}/aliases/{}", name, alias)``. The one way clients build
    the path of a request naming something."""
    return template.format(*(segment(value) for value in segments))


class ApiClient:
    """A connection to one podium server for one project."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None,
        project: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """``verify`` is the trust for an ``https://`` server (``True``: the usual roots;
        :func:`podium.access.tls.client_verify` adds a home's local CA)."""
        headers = {"user-agent": "podium-client"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        if project:
            headers["x-podium-project"] = project
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            verify=verify,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Send a request; a problem+json answer is raised as the matching PodiumError."""
        if self._http.is_closed:
            raise BackendUnavailableError(
                f"the connection to {self.base_url} was closed (platform.close())",
                remedy="connect again with podium.connect(); close a platform when done with it",
            )
        try:
            response = self._http.request(method, path, json=json, content=content, params=params)
        except httpx.TimeoutException as exc:
            raise BackendUnavailableError(
                f"the podium server at {self.base_url} did not answer {method} {path} in time "
                f"({type(exc).__name__})",
                remedy="retry; if it keeps timing out, check the server's load and logs",
            ) from exc
        except httpx.TransportError as exc:
            raise _transport_error(exc, self.base_url) from exc
        if response.status_code >= 400:
            raise _error_from(response, self.base_url)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and decode its JSON answer (``None`` for 204)."""
        response = self.request(method, path, **kwargs)
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError:
            raise BackendUnavailableError(
                f"{self.base_url} answered {method} {path} with something that is not JSON",
                remedy="check that the URL given to podium.connect() is a podium server",
            ) from None

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()


def _transport_error(exc: httpx.TransportError, base_url: str) -> BackendUnavailableError:
    """The error of a request that got no HTTP answer, naming the TLS fix when TLS is
    what failed: an untrusted certificate, or plain HTTP sent to a TLS server."""
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return BackendUnavailableError(
            f"the certificate of the podium server at {base_url} is not trusted ({text})",
            code="tls-untrusted",
            remedy="set PODIUM_CA_BUNDLE to the CA file that signed it (a `podium up --tls "
            "auto` server's is $PODIUM_HOME/tls/ca.pem), or use that server's PODIUM_HOME",
        )
    remedy = "start it with `podium up`, or check the URL given to podium.connect()"
    if base_url.startswith("http://") and isinstance(
        exc, httpx.RemoteProtocolError | httpx.ReadError
    ):
        remedy = (
            "if the server runs with TLS (podium up --tls ...), use an https:// URL; "
            "otherwise check that it runs"
        )
    return BackendUnavailableError(
        f"the podium server at {base_url} does not answer ({exc})", remedy=remedy
    )


def _error_from(response: httpx.Response, base_url: str) -> PodiumError:
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    if not isinstance(body, dict):
        body = {"detail": f"HTTP {status}: {response.text[:500] or response.reason_phrase}"}
    code = body.get("code")
    cls = _BY_CODE.get(code) if isinstance(code, str) else None
    if cls is None:
        cls = BackendUnavailableError if status in _GATEWAY_DOWN else error_for_code(status)
    remedy = body.get("remedy")
    if remedy is None and status in _GATEWAY_DOWN:
        remedy = f"check that the podium server behind {base_url} runs, then retry"
    # cls.__new__, as OSError subclasses (PermissionError) refuse Exception.__new__; then
    # PodiumError.__init__, as a subclass may take other arguments (MissingDependencyError).
    error = cls.__new__(cls)
    PodiumError.__init__(
        error,
        str(body.get("detail") or response.reason_phrase),
        code=code if isinstance(code, str) else None,
        remedy=None if remedy is None else str(remedy),
        field=body.get("field"),
        details=_details(body),
    )
    return error


def _details(body: dict[str, Any]) -> dict[str, Any]:
    # The error's own details (nested, as the server raised them) win over a member of
    # the answer with the same name, such as the request id of the HTTP request.
    details = {k: v for k, v in body.items() if k not in _PROBLEM_MEMBERS}
    nested = body.get("details")
    if isinstance(nested, dict):
        details.update(nested)
    return details
