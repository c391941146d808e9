"""Fixtures for the data layer: a fresh lake per test, on a local folder and on S3 (moto).

The S3 lake runs against a moto server in a child process (one per test worker); each
test gets its own prefix in the worker's bucket, so tests stay independent and
parallel-safe. Not moto's in-process ``ThreadedMotoServer``: some deltalake calls
(``DeltaTable.history()``) hold the GIL while they wait for the store, so a server thread
in the same interpreter can never answer them and the test hangs.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pytest

from podium.data import DataLake
from tests.conftest import free_port

BUCKET = "podium-lake-tests"
MOTO_START_SECONDS = 20.0


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + MOTO_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with code {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"moto_server did not listen on port {port} in {MOTO_START_SECONDS}s")


@pytest.fixture(scope="session")
def s3_storage_options() -> Iterator[dict[str, str]]:
    """deltalake storage options for a bucket on a moto server private to this worker."""
    port = free_port()
    moto_server = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield _bucket_options(port)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _bucket_options(port: int) -> dict[str, str]:
    options = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }
    boto3.client(
        "s3",
        endpoint_url=options["AWS_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ).create_bucket(Bucket=BUCKET)
    return options


@pytest.fixture
def local_lake(tmp_path: Path) -> DataLake:
    """An empty lake for one project in a local folder."""
    return DataLake((tmp_path / "lake" / "projects" / "churn").as_uri())


@pytest.fixture(params=["local", "s3"])
def lake(request: pytest.FixtureRequest, local_lake: DataLake) -> DataLake:
    """An empty lake, once on a local folder and once on S3."""
    if request.param == "local":
        return local_lake
    options: dict[str, str] = request.getfixturevalue("s3_storage_options")
    root = f"s3://{BUCKET}/{uuid.uuid4().hex}/lake/projects/churn"
    return DataLake(root, storage_options=options)


@pytest.fixture
def customers() -> pd.DataFrame:
    """Three customers with an int key, a string and a float column."""
    return pd.DataFrame(
        {"customer_id": [1, 2, 3], "plan": ["basic", "pro", "basic"], "spend": [10.0, 20.5, 7.25]}
    )
