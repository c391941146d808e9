"""The HTTP session every remote service shares: auth, project header, error mapping."""

from __future__ import annotations

from typing import Any

import httpx

from podium.errors import BackendUnavailableError, PodiumError, error_for_code

__all__ = ["ApiClient"]


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
    ) -> None:
        headers = {"user-agent": "podium-client"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        if project:
            headers["x-podium-project"] = project
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
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
        try:
            response = self._http.request(method, path, json=json, content=content, params=params)
        except httpx.TransportError as exc:
            raise BackendUnavailableError(
                f"the podium server at {self.base_url} does not answer ({exc})",
                remedy="start it with `podium up`, or check the URL given to podium.connect()",
            ) from exc
        if response.status_code >= 400:
            raise _error_from(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and decode its JSON answer (``None`` for 204)."""
        response = self.request(method, path, **kwargs)
        return None if response.status_code == 204 else response.json()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()


def _error_from(response: httpx.Response) -> PodiumError:
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:500] or response.reason_phrase}
    if not isinstance(body, dict):
        body = {"detail": str(body)}
    cls = error_for_code(response.status_code)
    known = {"type", "title", "status", "detail", "code", "field", "remedy", "instance"}
    details = {k: v for k, v in body.items() if k not in known}
    error = PodiumError.__new__(cls)
    PodiumError.__init__(
        error,
        str(body.get("detail", response.reason_phrase)),
        code=body.get("code"),
        remedy=body.get("remedy"),
        field=body.get("field"),
        details=details,
    )
    return error
