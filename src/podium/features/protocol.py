"""The one interface of ``p.features``, embedded (:class:`FeatureStore`) or remote."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from podium.features.definitions import Definition, FeatureService
from podium.features.historical import HistoricalFeatures
from podium.features.materialize import Progress
from podium.features.online_read import OnlineFeatures
from podium.features.stored import Change, StoredDefinition

__all__ = ["Features"]

FeatureList = Sequence[str] | str | FeatureService


class Features(Protocol):
    """Definitions, training sets, materialization, online reads and pushes."""

    def plan(self, definitions: Sequence[Definition]) -> list[Change]: ...

    def apply(self, definitions: Sequence[Definition]) -> list[Change]: ...

    def list_definitions(self, kind: str | None = None) -> list[StoredDefinition]: ...

    def describe(self, name: str) -> dict[str, Any]: ...

    def search(self, text: str) -> list[dict[str, Any]]: ...

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
    ) -> list[Any]: ...

    def materialize_incremental(
        self,
        end: datetime | None = None,
        *,
        views: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> list[Any]: ...

    def push(self, view: str, rows: Any) -> dict[str, Any]: ...

    def materializations(self, view: str) -> list[dict[str, Any]]: ...
