"""The lake storage contract (podium.testing.lake_storage) on a local folder and on S3."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from podium.data import DataLake
from podium.testing.lake_storage import LakeStorageContract
from tests.data.conftest import BUCKET


class TestLocalFolderLake(LakeStorageContract):
    @pytest.fixture
    def lake(self, tmp_path: Path) -> DataLake:
        return DataLake((tmp_path / "a lake" / "projects" / "churn").as_uri())


class TestS3Lake(LakeStorageContract):
    @pytest.fixture
    def lake(self, s3_storage_options: dict[str, str]) -> DataLake:
        """A lake under a prefix of its own in the moto bucket (a server per test worker)."""
        root = f"s3://{BUCKET}/{uuid.uuid4().hex}/lake/projects/churn"
        return DataLake(root, storage_options=s3_storage_options)
