"""Resolved views: stored definitions turned into what readers need, cached in memory.

Online reads run on the serving hot path, so they never touch the metadata database:
a resolved view (keys, key types, features, TTL, online table) is cached and re-read at
most every ``refresh_seconds``, and dropped at once when this process applies definitions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from podium.errors import InvalidInputError, NotFoundError
from podium.features.definitions import OnDemandFunction, is_query_source, load_function
from podium.features.refs import FeatureRef, parse_ref
from podium.features.stored import DefinitionStore

__all__ = ["ResolvedOnDemand", "ResolvedView", "ViewResolver"]


@dataclass(frozen=True)
class ResolvedView:
    """One version of a feature view, ready to read."""

    name: str
    version: int
    source: str
    is_query: bool
    join_keys: tuple[str, ...]
    key_types: tuple[str, ...]
    timestamp_field: str
    created_timestamp_field: str | None
    ttl: timedelta | None
    features: dict[str, str]
    online: bool
    online_table: str

    def feature_names(self, ref: FeatureRef) -> list[str]:
        """``[ref.feature]``, or every feature of the view for ``view:*``."""
        if ref.feature == "*":
            return list(self.features)
        if ref.feature not in self.features:
            raise NotFoundError(
                f"feature view '{self.name}' (version {self.version}) has no feature "
                f"'{ref.feature}'; it has {', '.join(self.features)}",
                field="features",
                remedy=f"check the feature name with 'podium features describe {self.name}'",
            )
        return [ref.feature]


@dataclass(frozen=True)
class ResolvedOnDemand:
    """One version of an on-demand view, with its function imported."""

    name: str
    version: int
    function: OnDemandFunction
    inputs: tuple[FeatureRef, ...]
    request_fields: dict[str, str]
    features: dict[str, str]

    def feature_names(self, ref: FeatureRef) -> list[str]:
        if ref.feature == "*":
            return list(self.features)
        if ref.feature not in self.features:
            raise NotFoundError(
                f"on-demand feature view '{self.name}' has no feature '{ref.feature}'; "
                f"it has {', '.join(self.features)}",
                field="features",
            )
        return [ref.feature]


Resolved = ResolvedView | ResolvedOnDemand


class ViewResolver:
    """Resolves view names (and pinned versions) for one project, with a short cache."""

    def __init__(
        self, store: DefinitionStore, project: str, *, refresh_seconds: float = 2.0
    ) -> None:
        self._store = store
        self._project = project
        self._refresh = refresh_seconds
        self._cache: dict[tuple[str, int | None], tuple[float, Resolved]] = {}
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Forget every cached view (after an apply)."""
        with self._lock:
            self._cache.clear()

    def resolve(self, view: str, version: int | None = None) -> Resolved:
        """The view ``view`` (its newest version, or ``version``)."""
        now = time.monotonic()
        cached = self._cache.get((view, version))
        if cached is not None and now - cached[0] < self._refresh:
            return cached[1]
        resolved = self._load(view, version)
        with self._lock:
            self._cache[(view, version)] = (now, resolved)
        return resolved

    def view(self, view: str, version: int | None = None) -> ResolvedView:
        """Like :meth:`resolve`, refusing on-demand views."""
        resolved = self.resolve(view, version)
        if not isinstance(resolved, ResolvedView):
            raise InvalidInputError(
                f"'{view}' is an on-demand feature view; it has no source to "
                "materialize or push to",
                field="view",
            )
        return resolved

    def _load(self, name: str, version: int | None) -> Resolved:
        stored = self._store.latest("feature_view", name) if version is None else None
        if stored is None and version is not None:
            versions = self._store.versions("feature_view", name)
            stored = next((v for v in versions if v.version == version), None)
        if stored is None:
            odfv = self._store.latest("on_demand_feature_view", name)
            if odfv is not None:
                return _on_demand(odfv.name, odfv.version, odfv.spec)
            stored = self._store.get("feature_view", name, version)  # raises NotFound
        spec = stored.spec
        keys: list[str] = []
        types: list[str] = []
        for entity in spec["entities"]:
            entity_spec = self._store.get("entity", entity).spec
            for key in entity_spec["join_keys"]:
                if key not in keys:
                    keys.append(key)
                    types.append(entity_spec.get("value_type") or "string")
        ttl = spec.get("ttl_seconds")
        source = spec["source"]
        return ResolvedView(
            name=stored.name,
            version=stored.version,
            source=source,
            is_query=is_query_source(source),
            join_keys=tuple(keys),
            key_types=tuple(types),
            timestamp_field=spec["timestamp_field"],
            created_timestamp_field=spec.get("created_timestamp_field"),
            ttl=None if ttl is None else timedelta(seconds=ttl),
            features={f["name"]: f["dtype"] for f in spec["features"]},
            online=spec.get("online", True),
            online_table=f"{self._project}/{stored.name}/v{stored.version}",
        )


def _on_demand(name: str, version: int, spec: dict[str, Any]) -> ResolvedOnDemand:
    inputs: Sequence[str] = spec["inputs"]
    return ResolvedOnDemand(
        name=name,
        version=version,
        function=load_function(spec["function"], view=name),
        inputs=tuple(parse_ref(ref) for ref in inputs),
        request_fields=dict(spec["request_fields"]),
        features={f["name"]: f["dtype"] for f in spec["features"]},
    )
