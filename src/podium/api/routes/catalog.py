"""``/v1/tables/{name}`` (describe, document), ``/v1/catalog/search`` and ``/v1/lineage``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from podium.api.bodies import RequestBody
from podium.api.deps import Reader, Writer, platform_of
from podium.data.catalog.models import MAX_DEPTH, CatalogHit, LineageGraph, TableDescription
from podium.data.names import parse_table_name

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["catalog"])


class TableUpdateIn(RequestBody):
    """What to change; a member left out (or ``null``) is kept as it is."""

    owner: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    column_descriptions: dict[str, str] | None = None


@router.get("/tables/{name}")
def describe_table(name: str, request: Request, who: Reader) -> TableDescription:
    """Everything the catalog knows about the table: schema, docs, size, lineage."""
    return platform_of(request, who).catalog.describe(str(parse_table_name(name)))


@router.patch("/tables/{name}")
def update_table(name: str, body: TableUpdateIn, request: Request, who: Writer) -> TableDescription:
    """Set the owner, description, tags (replaced whole) or column descriptions."""
    return platform_of(request, who).catalog.update(
        str(parse_table_name(name)),
        owner=body.owner,
        description=body.description,
        tags=body.tags,
        column_descriptions=body.column_descriptions,
    )


@router.get("/catalog/search")
def search_catalog(
    q: str,
    request: Request,
    who: Reader,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 50,
) -> list[CatalogHit]:
    """Tables whose name, description, tags or columns contain every word of ``q``."""
    return platform_of(request, who).catalog.search(q, limit=limit)


@router.get("/lineage/{node:path}")
def lineage(
    node: str,
    request: Request,
    who: Reader,
    depth: Annotated[int, Query(ge=0)] = MAX_DEPTH,
) -> LineageGraph:
    """The lineage graph around ``node`` (``raw.customers``, ``raw.customers@3``,
    ``run:<id>``, ``model:<name>/N``, ``deployment:<name>``): its ancestors and
    descendants, ``depth`` edges each way."""
    return platform_of(request, who).catalog.lineage(node, depth=depth)
