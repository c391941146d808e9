"""The data catalog over HTTP: the same interface as the embedded Catalog."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from podium.client.http import ApiClient, url_path
from podium.data.catalog.models import MAX_DEPTH, CatalogHit, LineageGraph, TableDescription
from podium.data.names import parse_table_name

__all__ = ["HttpCatalog"]

_HITS = TypeAdapter(list[CatalogHit])


class HttpCatalog:
    """``p.catalog`` against a podium server (see :class:`podium.data.protocol.CatalogAPI`)."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    def describe(self, name: str) -> TableDescription:
        """Everything known about table ``name``: schema with column docs, size, lineage."""
        answer = self._api.json("GET", url_path("/v1/tables/{}", parse_table_name(name)))
        return TableDescription.model_validate(answer)

    def update(
        self,
        name: str,
        *,
        owner: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        column_descriptions: Mapping[str, str] | None = None,
    ) -> TableDescription:
        """Set the owner, description, tags or column descriptions; only what is passed."""
        body: dict[str, Any] = {
            "owner": owner,
            "description": description,
            "tags": None if tags is None else list(tags),
            "column_descriptions": None
            if column_descriptions is None
            else dict(column_descriptions),
        }
        answer = self._api.json(
            "PATCH", url_path("/v1/tables/{}", parse_table_name(name)), json=body
        )
        return TableDescription.model_validate(answer)

    def search(self, text: str, *, limit: int = 50) -> list[CatalogHit]:
        """Tables whose name, description, tags or columns contain every word of ``text``."""
        params = {"q": text, "limit": limit}
        return _HITS.validate_python(self._api.json("GET", "/v1/catalog/search", params=params))

    def lineage(self, node: str, *, depth: int = MAX_DEPTH) -> LineageGraph:
        """The lineage graph around ``node``: ancestors and descendants, ``depth`` edges
        each way."""
        # '.' escaped too, so a node such as '..' is sent as itself, not resolved away.
        path = url_path("/v1/lineage/{}", node)
        answer = self._api.json("GET", path, params={"depth": depth})
        return LineageGraph.model_validate(answer)
