"""``fails``: an error of exactly one PodiumError class, embedded and remote alike."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from podium.errors import PodiumError

__all__ = ["fails"]


@contextlib.contextmanager
def fails(cls: type[PodiumError]) -> Iterator[None]:
    """Expect ``cls`` itself (not a subclass): both sides must raise the very same class."""
    with pytest.raises(PodiumError) as caught:
        yield
    assert type(caught.value) is cls, f"{type(caught.value).__name__}: {caught.value}"
