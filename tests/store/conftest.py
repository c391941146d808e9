"""Fixtures for the store tests: a real S3 API (moto in server mode) on loopback.

``moto_server`` is session-scoped and self-contained (it imports moto only when used), so
it can move up to ``tests/conftest.py`` unchanged once other areas need S3 too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest


def _dummy_s3_client(endpoint_url: str, config: Any = None) -> Any:
    """A boto3 S3 client with explicit dummy credentials, so no environment leaks in or out."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        config=config,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """The endpoint URL of a moto S3 server on 127.0.0.1, on a port the OS picked."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_client(moto_server: str) -> Any:
    """A boto3 S3 client for the moto server, with dummy credentials."""
    return _dummy_s3_client(moto_server)


@pytest.fixture
def make_s3_client() -> Callable[..., Any]:
    """``make_s3_client(endpoint_url, config=None)``: a client with dummy credentials."""
    return _dummy_s3_client


@pytest.fixture
def s3_bucket(s3_client: Any) -> Iterator[str]:
    """A new, uniquely named, empty bucket; emptied and removed after the test."""
    name = f"podium-test-{uuid.uuid4().hex}"
    s3_client.create_bucket(Bucket=name)
    yield name
    listing = s3_client.list_objects_v2(Bucket=name)
    for entry in listing.get("Contents", []):
        s3_client.delete_object(Bucket=name, Key=entry["Key"])
    s3_client.delete_bucket(Bucket=name)
