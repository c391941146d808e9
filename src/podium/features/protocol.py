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
from podium.features.online.read import OnlineFeatures
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
    """What ``p.features`` offers: definitions, training sets, materialization, online
    reads and pushes, embedded (:class:`~podium.features.service.FeatureStore`) or remote.

    Writing (apply, materialize, push, saving a training set) needs a ``writer`` key or
    role, else :class:`~podium.errors.PermissionDeniedError`. Over HTTP any method may
    also raise :class:`~podium.errors.AuthenticationError` or
    :class:`~podium.errors.BackendUnavailableError`.
    """

    def plan(self, definitions: Sequence[Definition]) -> list[Change]:
        """What :meth:`apply` would change, after checking every definition; stores nothing.

        Raises what :meth:`apply` raises for definitions that do not check.
        """
        ...

    def apply(self, definitions: Sequence[Definition]) -> list[Change]:
        """Check and store ``definitions`` (entities, feature views, on-demand views and
        feature services) in one transaction; returns what changed, one
        :class:`~podium.features.stored.Change` per definition.

        A changed source, key or feature type makes a new version of a view; older
        versions stay readable (``"customer_stats@1:tenure_months"``). Raises
        :class:`~podium.errors.InvalidInputError` when a definition names an undefined
        entity or view, a feature the view lacks, or a column its source table does not
        have (or has with another type), or when one name is defined twice differently.
        """
        ...

    def list_definitions(self, kind: str | None = None) -> list[StoredDefinition]:
        """The newest version of every definition, or of one ``kind`` (``"entity"``,
        ``"feature_view"``, ``"on_demand_feature_view"``, ``"feature_service"``)."""
        ...

    def get(
        self, name: str, *, kind: str = "feature_view", version: int | None = None
    ) -> Definition:
        """The stored definition ``name`` of ``kind`` (newest, or ``version``) as its
        Python object (an :class:`~podium.Entity`, :class:`~podium.FeatureView`, ...).

        Raises :class:`~podium.errors.NotFoundError` when there is no such definition or
        version.
        """
        ...

    def describe(self, name: str) -> DefinitionDescription:
        """Everything known about the view, service or entity ``name``: its newest spec,
        versions, the services and views that use it, its last materializations and how
        fresh its online values are.

        Raises :class:`~podium.errors.NotFoundError` when nothing is called ``name``.
        """
        ...

    def search(self, text: str) -> list[FeatureSearchHit]:
        """Definitions whose name, description, owner or tags contain ``text``
        (case-insensitive), with the features whose name or description matches."""
        ...

    def get_historical_features(self, entity_df: Any, features: FeatureList) -> HistoricalFeatures:
        """A point-in-time correct training set: ``features`` for each row of ``entity_df``.

        ``entity_df`` (pandas or Arrow) has the join keys and an ``event_timestamp``
        column; each row gets, per view, the latest feature row at or before its time and
        within the view's TTL (nulls where none qualifies), once each, in input order.
        ``features`` are references (``"customer_stats:tenure_months"``,
        ``"customer_stats@1:tenure_months"``) or a feature service. The result records the
        table versions it read; ``result.save("train.churn")`` writes it to the lake with
        lineage. Raises :class:`~podium.errors.InvalidInputError` for a malformed or
        repeated reference, or an ``entity_df`` without the time column or a join key,
        and :class:`~podium.errors.NotFoundError` for an unknown view or feature.
        """
        ...

    def get_online_features(
        self, entity_rows: Sequence[Mapping[str, Any]], features: FeatureList
    ) -> OnlineFeatures:
        """The latest values of ``features`` for ``entity_rows`` from the online store.

        Each row maps join keys to values (``{"customer_id": 7}``). The result has a value
        per feature and row, and a status: ``present``, ``missing`` (never materialized
        or pushed) or ``outside_ttl`` (too old; the value is None). Raises
        :class:`~podium.errors.InvalidInputError` for a malformed reference or a row
        without a join key (or with one of the wrong type), and
        :class:`~podium.errors.NotFoundError` for an unknown view or feature.
        """
        ...

    def materialize(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        views: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> list[Materialized]:
        """Load the online store with each online view's latest values whose event time
        is in ``[start, end]`` (``start`` None: all history; ``end`` None: now).

        ``views`` limits it to those views (default: every online view); ``progress``
        receives a line per step. Returns what each view loaded, from which table
        version. Raises :class:`~podium.errors.InvalidInputError` when ``start`` is after
        ``end``, and :class:`~podium.errors.NotFoundError` for an unknown view.
        """
        ...

    def materialize_incremental(
        self,
        end: datetime | None = None,
        *,
        views: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> list[Materialized]:
        """Like :meth:`materialize`, each view from where its last materialization ended
        (the first time, from ``end`` minus the view's TTL, or all history without one).

        Raises :class:`~podium.errors.NotFoundError` for an unknown view.
        """
        ...

    def push(self, view: str, rows: Any) -> Pushed:
        """Append fresh ``rows`` (pandas or Arrow) to the view's source table and write
        them to the online store, so training later sees exactly what serving saw.

        Everything is checked before anything is written. Raises
        :class:`~podium.errors.InvalidInputError` when the view reads a SQL query (push
        to a table instead), or the rows lack a column, add one the source does not have,
        or have another type; :class:`~podium.errors.NotFoundError` for an unknown view.
        """
        ...

    def materializations(self, view: str) -> list[MaterializationRun]:
        """Every materialization of ``view``, newest first: the window, rows, source
        version, when and by whom (empty when it was never materialized);
        :class:`~podium.errors.NotFoundError` when the project has no view ``view``."""
        ...
