"""The ``pyfunc`` flavor: any Python object with ``predict`` (and maybe ``predict_proba``).

Such objects can only be persisted with pickle, and unpickling runs code. podium therefore
unpickles only bytes whose sha256 matches the registry record written when the model was
registered; the registry verifies that before it calls :meth:`PyfuncFlavor.load`, so the
bytes are exactly the ones an authorised writer registered. Never call ``load`` on bytes
from anywhere else.

The class of the object must be importable where the model is loaded.
"""

from __future__ import annotations

import pickle
from typing import Any

__all__ = ["PyfuncFlavor"]


class PyfuncFlavor:
    """Saves any object with a ``predict`` method with pickle."""

    name = "pyfunc"

    def handles(self, model: object) -> bool:
        """Any object with a callable ``predict``."""
        return callable(getattr(model, "predict", None))

    def save(self, model: Any) -> bytes:
        """The object pickled with the highest protocol."""
        return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, data: bytes) -> Any:
        """The object back; ``data`` must already match the registry's sha256 record."""
        return pickle.loads(data)  # the caller verified sha256 against the registry record
