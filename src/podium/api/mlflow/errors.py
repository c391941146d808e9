"""MLflow's error shape: ``{"error_code": "...", "message": "..."}`` with MLflow's statuses.

The MLflow client reads ``error_code`` to decide what happened (``mlflow.register_model``
tolerates ``RESOURCE_ALREADY_EXISTS``, ``mlflow.set_experiment`` creates the experiment on
``RESOURCE_DOES_NOT_EXIST``), so the routes under ``/api/2.0/mlflow`` answer in that shape
instead of problem+json. The podium remedy is kept in the message.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError
from starlette.requests import Request
from starlette.responses import Response

from podium.errors import (
    AuthenticationError,
    BackendUnavailableError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PodiumError,
)

__all__ = ["MlflowRoute", "mlflow_error"]

# (podium error class, MLflow error code, HTTP status); the first match wins.
_CODES: tuple[tuple[type[PodiumError], str, int], ...] = (
    (PayloadTooLargeError, "INVALID_PARAMETER_VALUE", 413),
    (InvalidInputError, "INVALID_PARAMETER_VALUE", 400),
    (NotFoundError, "RESOURCE_DOES_NOT_EXIST", 404),
    (ConflictError, "RESOURCE_ALREADY_EXISTS", 400),
    (PermissionDeniedError, "PERMISSION_DENIED", 403),
    (AuthenticationError, "UNAUTHENTICATED", 401),
    (BackendUnavailableError, "TEMPORARILY_UNAVAILABLE", 503),
)


def mlflow_error(exc: PodiumError) -> JSONResponse:
    """``exc`` as MLflow's error body and status."""
    for cls, code, status in _CODES:
        if isinstance(exc, cls):
            return _error(code, str(exc), status)
    return _error("INTERNAL_ERROR", str(exc), exc.status)


def _error(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error_code": code, "message": message}, status_code=status)


class MlflowRoute(APIRoute):
    """A route whose errors, its dependencies' too (a reader writing), are MLflow's shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except PodiumError as exc:
                return mlflow_error(exc)
            except RequestValidationError as exc:
                return _error("INVALID_PARAMETER_VALUE", _validation_message(exc), 400)
            except DataError:
                return _error(
                    "INVALID_PARAMETER_VALUE",
                    "a value could not be stored (too long, or holding a NUL character)",
                    400,
                )

        return route


def _validation_message(exc: RequestValidationError) -> str:
    errors: list[Any] = list(exc.errors())
    first = errors[0] if errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    return f"invalid value for '{where}': {first.get('msg', 'not valid')}"
