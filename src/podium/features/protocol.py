"""The one interface of ``p.features``, embedded (:class:`FeatureStore`) or remote, and
the results it hands back.

Every result is a frozen pydantic model that round-trips through JSON, so the embedded
store and the HTTP client return equal values. The models also answer ``result["rows"]``
and ``result.get("owner")``, the dict access these results offered before they were
models; new code reads attributes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from podium.features.definitions import Definition, FeatureService
from podium.features.historical import HistoricalFeatures
from podium.features.materialize import Progress
from podium.features.online_read import OnlineFeatures
from podium.features.stored import Change, StoredDefinition

__all__ = [
    "DefinitionDescription",
    "DefinitionVersion",
    "FeatureList",
    "FeatureSearchHit",
    "Features",
    "MaterializationRun",
    "Materialized",
    "Pushed",
]

FeatureList = Sequence[str] | str | FeatureService


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """The field ``key``, or ``default`` when it is None or not a field."""
        value = getattr(self, key) if key in type(self).model_fields else None
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        # As a dict had the key: the field exists and applies (None means it does not).
        return isinstance(key, str) and self.get(key) is not None


class Materialized(_Result):
    """What one view's materialization did (``p.features.materialize`` returns a list)."""

    view: str
    version: int
    start: datetime | None
    end: datetime
    rows: int = Field(description="rows the online store accepted")
    source: str = Field(description="the table version (or 'query') the rows came from")


class MaterializationRun(_Result):
    """One past materialization of a view, as :meth:`Features.materializations` lists it."""

    version: int
    start: datetime | None
    end: datetime
    rows: int
    source: str
    at: datetime
    by: str


class Pushed(_Result):
    """What a push wrote: rows appended to the source table, and to the online store."""

    view: str
    rows: int
    online_rows: int
    table: str = Field(description="the source table version the rows were appended as")


class FeatureSearchHit(_Result):
    """A definition whose name, description, owner, tags or features match the search."""

    kind: str
    name: str
    version: int
    description: str
    owner: str
    matching_features: list[str]


class DefinitionVersion(_Result):
    """One version of a definition: when and by whom it was applied."""

    version: int
    created_at: datetime
    created_by: str


class DefinitionDescription(_Result):
    """Everything known about a definition: its newest spec, versions, users, freshness.

    ``used_by_services`` and ``used_by_views`` are None for what is not a view;
    ``materializations`` (newest first, at most 10) for what is not a feature view;
    ``fresh_until`` (the end of the last materialization) also when there was none.
    """

    kind: str
    name: str
    version: int
    spec: dict[str, Any]
    description: str
    owner: str
    tags: dict[str, str]
    created_by: str
    created_at: datetime
    updated_at: datetime
    versions: list[DefinitionVersion]
    used_by_services: list[str] | None = None
    used_by_views: list[str] | None = None
    materializations: list[MaterializationRun] | None = None
    fresh_until: datetime | None = None


class Features(Protocol):
    """Definitions, training sets, materialization, online reads and pushes."""

    def plan(self, definitions: Sequence[Definition]) -> list[Change]: ...

    def apply(self, definitions: Sequence[Definition]) -> list[Change]: ...

    def list_definitions(self, kind: str | None = None) -> list[StoredDefinition]: ...

    def get(
        self, name: str, *, kind: str = "feature_view", version: int | None = None
    ) -> Definition:
        """The stored definition ``name`` (newest, or ``version``) as its Python object."""
        ...

    def describe(self, name: str) -> DefinitionDescription: ...

    def search(self, text: str) -> list[FeatureSearchHit]: ...

    def get_historical_features(
        self, entity_df: Any, features: FeatureList
    ) -> HistoricalFeatures: ...

    def get_online_features(
        self, entity_rows: Sequence[Mapping[str, Any]], features: FeatureList
    ) -> OnlineFeatures: ...

    def materialize(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        views: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> list[Materialized]: ...

    def materialize_incremental(
        self,
        end: datetime | None = None,
        *,
        views: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> list[Materialized]: ...

    def push(self, view: str, rows: Any) -> Pushed: ...

    def materializations(self, view: str) -> list[MaterializationRun]: ...
