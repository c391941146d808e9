"""The one error tree of podium.

Every error a user can cause is a :class:`PodiumError` carrying a stable ``code``, the
HTTP ``status`` the API renders it with, an optional offending ``field`` and a ``remedy``
that says what to do. Subclasses also subclass the matching builtin, so callers can catch
what they already know::

    PodiumError
    ├── InvalidInputError       (ValueError)       400  bad argument, filter, name, body
    │   └── PayloadTooLargeError                   413  request body over the limit
    ├── AuthenticationError     (PermissionError)  401  missing, unknown or revoked key
    ├── PermissionDeniedError   (PermissionError)  403  key's role may not do this
    ├── NotFoundError           (LookupError)      404  no such object in this project
    ├── ConflictError           (ValueError)       409  would contradict stored state
    ├── IntegrityError          (RuntimeError)     500  stored bytes fail verification
    ├── MissingDependencyError  (ImportError)      500  an optional extra is not installed
    └── BackendUnavailableError (ConnectionError)  503  database, storage or server down
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "PROBLEM_MEMBERS",
    "AuthenticationError",
    "BackendUnavailableError",
    "ConflictError",
    "IntegrityError",
    "InvalidInputError",
    "MissingDependencyError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PodiumError",
    "RateLimitedError",
    "RequestTimeoutError",
    "StorageFullError",
    "error_for_code",
]

#: The members of a problem document that are never a detail's name: the RFC 9457 ones,
#: podium's own, the ones the server adds (``instance``, ``request_id``) and ``details``.
PROBLEM_MEMBERS = frozenset(
    {"type", "title", "status", "detail", "code", "field", "remedy", "instance", "request_id"}
    | {"details"}
)
_TITLES = {"internal": "internal error"}


class PodiumError(Exception):
    """Base of every podium error: a message, a stable code, and a remedy."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        remedy: str | None = None,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.remedy = remedy
        self.field = field
        self.details = details or {}

    def __str__(self) -> str:
        return f"{self.message} ({self.remedy})" if self.remedy else self.message

    def to_dict(self) -> dict[str, Any]:
        """The error as the members of an RFC 9457 problem document.

        ``details`` come nested under ``"details"`` as they are, and also as members of
        their own (``old_value``, ``position``...) unless that name is a standard member
        (``status``, ``request_id``...): a detail never overwrites one, nor is overwritten.
        """
        body: dict[str, Any] = {
            "type": f"https://podium.dev/errors/{self.code}",
            "title": _TITLES.get(self.code) or self.code.replace("-", " "),
            "status": self.status,
            "detail": self.message,
            "code": self.code,
        }
        if self.field is not None:
            body["field"] = self.field
        if self.remedy is not None:
            body["remedy"] = self.remedy
        if self.details:
            body.update((k, v) for k, v in self.details.items() if k not in PROBLEM_MEMBERS)
            body["details"] = dict(self.details)
        return body


class InvalidInputError(PodiumError, ValueError):
    """An argument, name, filter or request body is not acceptable."""

    status = 400
    default_code = "invalid-input"


class PayloadTooLargeError(InvalidInputError):
    """A request body is larger than the server accepts."""

    status = 413
    default_code = "payload-too-large"


class AuthenticationError(PodiumError, PermissionError):
    """No API key, or one that is unknown or revoked."""

    status = 401
    default_code = "unauthenticated"


class PermissionDeniedError(PodiumError, PermissionError):
    """The key is valid but its role may not do this."""

    status = 403
    default_code = "permission-denied"


class NotFoundError(PodiumError, LookupError):
    """No such object in this project (objects of other projects are never visible)."""

    status = 404
    default_code = "not-found"


class ConflictError(PodiumError, ValueError):
    """The request contradicts what is already stored (an immutable value, a taken name)."""

    status = 409
    default_code = "conflict"


class IntegrityError(PodiumError, RuntimeError):
    """Stored bytes do not match their recorded sha256; they are never loaded."""

    status = 500
    default_code = "integrity"


class MissingDependencyError(PodiumError, ImportError):
    """An optional dependency is not installed; the remedy names the extra."""

    status = 500
    default_code = "missing-dependency"

    def __init__(self, package: str, *, extra: str) -> None:
        super().__init__(
            f"the optional package '{package}' is not installed",
            remedy=f"pip install 'podium[{extra}]'",
        )


class RateLimitedError(PodiumError, RuntimeError):
    """A key sent more requests than its rate limit allows; ``retry_after`` says when to retry."""

    status = 429
    default_code = "rate-limited"

    @property
    def retry_after(self) -> int:
        """Whole seconds until a request will be admitted again (at least 1)."""
        return max(1, int(self.details.get("retry_after", 1)))


class BackendUnavailableError(PodiumError, ConnectionError):
    """A database, object store or podium server does not answer."""

    status = 503
    default_code = "unavailable"


class RequestTimeoutError(PodiumError, TimeoutError):
    """A request took longer than its route's time limit; the server stopped waiting for it."""

    status = 504
    default_code = "timeout"


class StorageFullError(PodiumError, OSError):
    """The disk under PODIUM_HOME (or the database's) is full: nothing was half-written."""

    status = 507
    default_code = "storage-full"


_BY_STATUS: dict[int, type[PodiumError]] = {
    400: InvalidInputError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitedError,
    503: BackendUnavailableError,
    504: RequestTimeoutError,
    507: StorageFullError,
}


def error_for_code(status: int) -> type[PodiumError]:
    """The error class a remote client raises for an HTTP status (used by the client)."""
    return _BY_STATUS.get(status, PodiumError)
