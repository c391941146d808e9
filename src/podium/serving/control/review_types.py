"""What the review queue returns: an escalated request and its review (see
:mod:`podium.serving.control.reviews`). Light on imports: the HTTP client uses it too."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["Label", "Review", "ReviewStatus"]

ReviewStatus = Literal["open", "answered", "all"]
"""Which reviews to list: those waiting, those answered, or both."""

Label = bool | int | float | str
"""A reviewer's answer: the true class (number or text) or target, as monitoring takes it."""


class Review(BaseModel):
    """One escalated request: what was asked (``features``), what the caller got
    (``answer``, the deployment's default), why the models did not answer (``reason``),
    and its review: ``status`` open or answered, with the ``label``, who gave it, when."""

    model_config = ConfigDict(frozen=True)

    id: str
    deployment: str
    request_id: str
    features: dict[str, Any]
    answer: dict[str, Any]
    reason: str
    status: Literal["open", "answered"]
    label: Label | None = None
    answered_by: str | None = None
    created_at: datetime
    answered_at: datetime | None = None
