"""The flavor interface: how one kind of model becomes bytes and comes back.

A flavor is four members and nothing else. ``save`` and ``load`` are pure functions over
bytes: the registry stores the bytes content-addressed and checks their sha256 against
its record *before* calling ``load``, so a flavor never sees bytes the registry did not
write.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Flavor"]


@runtime_checkable
class Flavor(Protocol):
    """Persists one kind of model: ``sklearn``, ``onnx`` or ``pyfunc``."""

    @property
    def name(self) -> str:
        """The flavor's stable name, stored with every model version."""
        ...

    def handles(self, model: object) -> bool:
        """Whether this flavor can save ``model``."""
        ...

    def save(self, model: Any) -> bytes:
        """The model as bytes."""
        ...

    def load(self, data: bytes) -> Any:
        """The model back from bytes ``save`` produced (already sha256-verified)."""
        ...
