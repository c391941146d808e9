"""The schema registry's REST tests use the API's in-process fixtures."""

from __future__ import annotations

from tests.api.conftest import anyio_backend, client, keys, other_project

__all__ = ["anyio_backend", "client", "keys", "other_project"]
