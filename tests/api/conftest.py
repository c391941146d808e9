"""In-process API fixtures: the app over ``httpx.ASGITransport``, keys per project and role.

Every test gets its own installation (SQLite file or PostgreSQL database per worker) and
projects with fresh names, so tests run in parallel without seeing each other.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from podium.access.roles import Role
from podium.api.app import create_app
from podium.platform import Installation


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Keys:
    """Creates projects and keys in the installation under test."""

    installation: Installation

    def headers(self, project: str, role: Role | str = Role.WRITER) -> dict[str, str]:
        """The Authorization header of a new key of ``project`` with ``role``."""
        return {"authorization": f"Bearer {self.secret(project, role)}"}

    def secret(self, project: str, role: Role | str = Role.WRITER) -> str:
        self.installation.projects.ensure(project)
        _, secret = self.installation.keys.create(project, Role(role), name=f"{role}-key")
        return secret


@pytest.fixture
def keys(installation: Installation) -> Keys:
    return Keys(installation)


@pytest.fixture
def other_project() -> str:
    """A second project, for tenancy tests."""
    return f"o-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def client(installation: Installation) -> AsyncIterator[httpx.AsyncClient]:
    """The API in process; an exception escaping the app fails the test (no silent 500)."""
    transport = httpx.ASGITransport(app=create_app(installation))
    async with httpx.AsyncClient(transport=transport, base_url="http://podium.test") as http:
        yield http
