"""``podium.connect()``: the one entry point of the SDK, embedded or remote."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from podium.access.tls import client_verify
from podium.client.batch import HttpBatch
from podium.client.catalog import HttpCatalog
from podium.client.data import HttpData
from podium.client.deployments import HttpDeployments
from podium.client.features import HttpFeatures
from podium.client.http import ApiClient
from podium.client.monitoring import HttpMonitoring
from podium.client.pipelines import HttpPipelines
from podium.client.registry import HttpRegistry
from podium.client.schemas import HttpSchemas
from podium.client.tracking import HttpTracking
from podium.client.webhooks import HttpWebhooks
from podium.config import Settings
from podium.errors import InvalidInputError
from podium.events.schemas.area import EventsArea
from podium.platform import Installation, Platform

__all__ = ["connect", "read_credentials"]


def connect(
    url: str | None = None,
    *,
    api_key: str | None = None,
    project: str | None = None,
    home: str | os.PathLike[str] | None = None,
) -> Platform:
    """A :class:`Platform` for ``project``.

    With no ``url`` (and no ``PODIUM_URL``) it is embedded: SQLite and a local folder
    under ``home`` (``PODIUM_HOME``, default ``./.podium``). With ``url`` it talks to a
    podium server; the key defaults to ``PODIUM_API_KEY``, then to the credentials file
    the server wrote on first start.

    Use it as a context manager (``with podium.connect() as p: ...``) to release its
    connections when the block ends. Embedded predictions are logged either way: what
    the inference log still buffers is written when the platform closes, or when the
    interpreter exits.
    """
    overrides: dict[str, Any] = {"home": Path(home)} if home is not None else {}
    settings = Settings(**overrides)
    url = url or settings.url
    if url is None:
        installation = Installation(settings)
        platform = installation.platform(project)
        platform.closer = installation.close
        return platform
    if not url.startswith(("http://", "https://")):
        raise InvalidInputError(
            f"the server URL must start with http:// or https://; got {url!r} instead",
            field="url",
            remedy="pass e.g. podium.connect('http://127.0.0.1:8000')",
        )
    creds = read_credentials(settings.credentials_path)
    key = api_key or (settings.api_key.get_secret_value() if settings.api_key else None)
    key = key or creds.get("api_key")
    if project is None and not api_key and creds.get("project"):
        project = creds["project"]
    # https://: the usual roots plus the CA that `podium up --tls auto` made in this home.
    verify = client_verify(settings.home, ca_bundle=settings.ca_bundle) if _https(url) else True
    api = ApiClient(url, api_key=key, project=project, verify=verify)
    if project is None:  # the key's own project
        project = str(api.json("GET", "/v1/whoami")["project"])
    return Platform(
        project=project,
        tracking=HttpTracking(api),
        data=HttpData(api),
        catalog=HttpCatalog(api),
        registry=HttpRegistry(api),
        features=HttpFeatures(api),
        deployments=HttpDeployments(api),
        monitoring=HttpMonitoring(api),
        webhooks=HttpWebhooks(api),
        pipelines=HttpPipelines(api),
        batch=HttpBatch(api),
        events=EventsArea(schemas=HttpSchemas(api)),
        closer=api.close,
    )


def _https(url: str) -> bool:
    return url.lower().startswith("https://")


def read_credentials(path: Path) -> dict[str, str]:
    """The credentials file the server wrote (empty when there is none)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
