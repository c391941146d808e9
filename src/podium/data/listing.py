"""Finding the tables under a lake root, and reading their log, locally or on S3-compatible stores.

Both use pyarrow's file systems; for ``s3://`` roots the deltalake-style
``storage_options`` (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...) are translated so one
set of options serves both deltalake and the listing.
"""

from __future__ import annotations

from typing import Any

import pyarrow.fs as pa_fs  # type: ignore[import-untyped]

__all__ = ["list_tables", "read_log_entry", "table_exists"]

_S3_OPTIONS = {
    "aws_access_key_id": "access_key",
    "aws_secret_access_key": "secret_key",
    "aws_session_token": "session_token",
    "aws_region": "region",
    "aws_endpoint_url": "endpoint_override",
    "aws_endpoint": "endpoint_override",
}


def _filesystem(root_url: str, storage_options: dict[str, str] | None) -> tuple[Any, str]:
    if not root_url.startswith(("s3://", "s3a://")) or not storage_options:
        filesystem, path = pa_fs.FileSystem.from_uri(root_url)
        return filesystem, str(path)
    options = {key.lower(): value for key, value in storage_options.items()}
    kwargs = {arg: options[key] for key, arg in _S3_OPTIONS.items() if key in options}
    if options.get("aws_allow_http", "").lower() == "true":
        kwargs["scheme"] = "http"
    path = root_url.split("://", 1)[1]
    return pa_fs.S3FileSystem(**kwargs), path


def list_tables(root_url: str, storage_options: dict[str, str] | None) -> list[str]:
    """Every ``zone.name`` under ``root_url`` that holds a Delta log, sorted."""
    filesystem, root = _filesystem(root_url, storage_options)
    found: list[str] = []
    for zone in filesystem.get_file_info(pa_fs.FileSelector(root, allow_not_found=True)):
        if zone.type != pa_fs.FileType.Directory:
            continue
        for entry in filesystem.get_file_info(pa_fs.FileSelector(zone.path)):
            if entry.type != pa_fs.FileType.Directory:
                continue
            log = filesystem.get_file_info(
                pa_fs.FileSelector(f"{entry.path}/_delta_log", allow_not_found=True)
            )
            if log:
                found.append(f"{zone.base_name}.{entry.base_name}")
    return sorted(found)


def _has_delta_log(filesystem: Any, table_path: str) -> bool:
    # One lookup, not a listing: the log grows by a file per commit.
    info = filesystem.get_file_info(f"{table_path}/_delta_log")
    return bool(info.type == pa_fs.FileType.Directory)


def table_exists(root_url: str, storage_options: dict[str, str] | None, relative: str) -> bool:
    """Whether ``root_url/relative`` holds a Delta table.

    Asked of the file system rather than of deltalake, whose S3 probe of a missing table
    retries for minutes before answering.
    """
    filesystem, root = _filesystem(root_url, storage_options)
    return _has_delta_log(filesystem, f"{root.rstrip('/')}/{relative}")


def read_log_entry(
    table_uri: str, storage_options: dict[str, str] | None, version: int
) -> bytes | None:
    """The raw JSON lines of commit ``version`` in the table's log; ``None`` if cleaned up."""
    filesystem, root = _filesystem(table_uri, storage_options)
    path = f"{root.rstrip('/')}/_delta_log/{version:020d}.json"
    try:
        with filesystem.open_input_stream(path) as stream:
            data: bytes = stream.read()
            return data
    except FileNotFoundError:
        return None
