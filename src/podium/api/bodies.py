"""What every request body shares: text the database can store.

PostgreSQL text cannot hold a NUL character and no database can store a lone UTF-16
surrogate (``"\\ud800"`` is valid JSON), so a body carrying either, in any key or value,
is refused here with the path to it, and SQLite and PostgreSQL answer the same 400.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

__all__ = ["RequestBody"]


class RequestBody(BaseModel):
    """Base of the request bodies of every route; an unknown field is a 400, not ignored."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        where = _unstorable_text(data, "")
        if where is not None:
            # ctx["field"] is what the problem document names as the offending field.
            raise PydanticCustomError(
                "unstorable_text",
                "{field} holds a NUL character or a lone surrogate, which cannot be stored",
                {"field": where or "body"},
            )
        return data


def _unstorable_text(value: Any, path: str) -> str | None:
    """The dotted path of the first string that cannot be stored, or ``None``."""
    if isinstance(value, str):
        return None if _storable(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and not _storable(key):
                return inner
            found = _unstorable_text(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable_text(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
