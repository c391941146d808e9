"""``/v1/tables/{name}/pii`` and ``/v1/tables/{name}/detokenize``: pii columns over HTTP.

Any key of the project may ask which columns are tokenized; turning tokens back into
values is for admins (a reader or writer key gets 403, and the attempt is audited).
Columns are marked pii with the ``pii`` parameter of ``POST /v1/tables/{name}/rows``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from podium.api.bodies import RequestBody
from podium.api.deps import Reader, platform_of
from podium.data.names import parse_table_name
from podium.data.pii import MAX_DETOKENIZE

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["data"])


class PiiColumnsOut(BaseModel):
    table: str
    columns: list[str]


class DetokenizeIn(RequestBody):
    column: str = Field(min_length=1, max_length=256)
    tokens: list[str] = Field(max_length=MAX_DETOKENIZE)


class DetokenizeOut(BaseModel):
    table: str
    column: str
    values: list[str | None]


@router.get("/tables/{name}/pii")
def pii_columns(name: str, request: Request, who: Reader) -> PiiColumnsOut:
    """The columns of the table stored as tokens."""
    table = str(parse_table_name(name))
    return PiiColumnsOut(table=table, columns=platform_of(request, who).data.pii_columns(table))


@router.post("/tables/{name}/detokenize")
def detokenize(name: str, body: DetokenizeIn, request: Request, who: Reader) -> DetokenizeOut:
    """The clear values of tokens of a pii column, in order (null: never written). Admins
    only; every call is audited."""
    table = str(parse_table_name(name))
    values = platform_of(request, who).data.detokenize(table, body.column, body.tokens)
    return DetokenizeOut(table=table, column=body.column, values=values)
