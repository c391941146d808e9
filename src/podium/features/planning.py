"""``plan``: check definitions against their sources and say what ``apply`` would change.

Everything is checked before anything is stored: entities exist, a view's source has its
join keys, timestamp columns and features with compatible types, on-demand inputs and
service references resolve. A change to what a view computes (source, keys, time columns,
feature names or types) is a new version; a change to its TTL, description, owner or tags
updates the current version in place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from podium.errors import InvalidInputError
from podium.features.definitions import (
    Definition,
    Entity,
    FeatureService,
    FeatureView,
    OnDemandFeatureView,
)
from podium.features.refs import parse_ref
from podium.features.stored import Action, Change, DefinitionStore, StoredDefinition

__all__ = ["SchemaOf", "arrow_matches", "make_plan"]

SchemaOf = Callable[[str], pa.Schema]
"""Returns the Arrow schema of a view source (a table name or a SELECT)."""

_ORDER = ("entity", "feature_view", "on_demand_feature_view", "feature_service")


def arrow_matches(dtype: str, arrow_type: pa.DataType) -> bool:
    """Whether a column of ``arrow_type`` may hold a feature or key of type ``dtype``."""
    if dtype == "int64":
        return bool(pa.types.is_integer(arrow_type))
    if dtype == "float64":
        return bool(pa.types.is_floating(arrow_type) or pa.types.is_integer(arrow_type))
    if dtype == "string":
        return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))
    if dtype == "bool":
        return bool(pa.types.is_boolean(arrow_type))
    if dtype == "timestamp":
        return bool(pa.types.is_timestamp(arrow_type))
    return False


def _key_type(arrow_type: pa.DataType) -> str | None:
    if pa.types.is_integer(arrow_type):
        return "int64"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    return None


class _Planner:
    def __init__(self, definitions: Sequence[Definition], store: DefinitionStore) -> None:
        self.store = store
        self.batch: dict[tuple[str, str], Definition] = {}
        for item in definitions:
            if not isinstance(item, Entity | FeatureView | OnDemandFeatureView | FeatureService):
                raise InvalidInputError(
                    f"apply takes Entity, FeatureView, OnDemandFeatureView and FeatureService "
                    f"objects; got {type(item).__name__} instead",
                    field="definitions",
                )
            key = (item.kind, item.name)
            if key in self.batch and self.batch[key] != item:
                raise InvalidInputError(
                    f"two different definitions of {item.kind} '{item.name}' in one apply",
                    field="definitions",
                    remedy="keep one definition per name",
                )
            self.batch[key] = item
        self.entity_types: dict[str, str | None] = {}
        self.view_versions: dict[str, int] = {}

    def stored(self, kind: str, name: str) -> StoredDefinition | None:
        return self.store.latest(kind, name)

    def entity(self, name: str, view: str) -> tuple[tuple[str, ...], str | None]:
        item = self.batch.get(("entity", name))
        if isinstance(item, Entity):
            return tuple(item.join_keys), self.entity_types.get(name, item.value_type)
        stored = self.stored("entity", name)
        if stored is None:
            raise InvalidInputError(
                f"feature view '{view}' uses entity '{name}', which is not defined",
                field="entities",
                remedy=f"apply Entity('{name}', join_keys=[...]) together with the view",
            )
        return tuple(stored.spec["join_keys"]), stored.spec.get("value_type")

    def view_features(self, view: str) -> dict[str, str]:
        """The features of a view (or on-demand view) in this batch or stored."""
        for kind in ("feature_view", "on_demand_feature_view"):
            item = self.batch.get((kind, view))
            if isinstance(item, FeatureView | OnDemandFeatureView):
                return {f.name: f.dtype for f in item.features}
            stored = self.stored(kind, view)
            if stored is not None:
                return {f["name"]: f["dtype"] for f in stored.spec["features"]}
        raise InvalidInputError(
            f"feature view '{view}' is not defined",
            field="features",
            remedy="apply the view first, or check the name with 'podium features ls'",
        )

    def check_ref(self, text: str, owner: str) -> None:
        ref = parse_ref(text)
        features = self.view_features(ref.view)
        if ref.feature != "*" and ref.feature not in features:
            raise InvalidInputError(
                f"{owner} uses '{text}', but view '{ref.view}' has no feature "
                f"'{ref.feature}' (it has {', '.join(features)})",
                field="features",
            )

    def check_view(self, view: FeatureView, schema_of: SchemaOf) -> None:
        schema = schema_of(view.source)
        columns = {name: schema.field(name).type for name in schema.names}

        def column(name: str, what: str) -> pa.DataType:
            if name not in columns:
                raise InvalidInputError(
                    f"the source of feature view '{view.name}' has no column '{name}' "
                    f"(the {what}); it has {', '.join(columns)}",
                    field=what,
                    remedy="fix the view definition or the source",
                )
            return columns[name]

        for field_name, what in (
            (view.timestamp_field, "timestamp_field"),
            (view.created_timestamp_field, "created_timestamp_field"),
        ):
            if field_name is not None and not pa.types.is_timestamp(column(field_name, what)):
                raise InvalidInputError(
                    f"column '{field_name}' of the source of feature view '{view.name}' must be "
                    f"a timestamp; it is {columns[field_name]}",
                    field=what,
                    remedy="cast it to a timestamp in the source (e.g. a SELECT with CAST)",
                )
        for entity_name in view.entity_names:
            keys, declared = self.entity(entity_name, view.name)
            for key in keys:
                found = _key_type(column(key, "join key"))
                if found is None:
                    raise InvalidInputError(
                        f"join key '{key}' of feature view '{view.name}' must be an integer or "
                        f"string column; it is {columns[key]}",
                        field="join key",
                    )
                if declared is not None and declared != found:
                    raise InvalidInputError(
                        f"entity '{entity_name}' declares value_type {declared!r}, but join key "
                        f"'{key}' in the source of '{view.name}' is {found}",
                        field="value_type",
                        remedy="make the entity's value_type match the source column",
                    )
                self.entity_types.setdefault(entity_name, found)
        for feature in view.features:
            found_type = column(feature.name, "feature")
            if not arrow_matches(feature.dtype, found_type):
                raise InvalidInputError(
                    f"feature '{view.name}:{feature.name}' is declared {feature.dtype}, but the "
                    f"source column is {found_type}",
                    field="features",
                    remedy="declare the matching type or cast the column in the source",
                )


def _diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    details = []
    for key in sorted(set(old) | set(new)):
        # A service's features are references (text); a view's are typed dicts.
        if key == "features" and all(
            isinstance(f, dict) for f in [*old.get(key, []), *new.get(key, [])]
        ):
            before = {f["name"]: f["dtype"] for f in old.get(key, [])}
            after = {f["name"]: f["dtype"] for f in new.get(key, [])}
            for name in after.keys() - before.keys():
                details.append(f"+ feature {name} ({after[name]})")
            for name in before.keys() - after.keys():
                details.append(f"- feature {name}")
            for name in sorted(before.keys() & after.keys()):
                if before[name] != after[name]:
                    details.append(f"feature {name}: {before[name]} -> {after[name]}")
        elif old.get(key) != new.get(key):
            details.append(f"{key}: {old.get(key)!r} -> {new.get(key)!r}")
    return details


def make_plan(
    definitions: Sequence[Definition], store: DefinitionStore, schema_of: SchemaOf
) -> list[Change]:
    """Check ``definitions`` and return the change each would make, in dependency order."""
    planner = _Planner(definitions, store)
    items = sorted(planner.batch.values(), key=lambda d: (_ORDER.index(d.kind), d.name))
    for item in items:
        if isinstance(item, FeatureView):
            planner.check_view(item, schema_of)
        elif isinstance(item, OnDemandFeatureView):
            item.function_path  # noqa: B018 - raises when the function is not importable
            for ref in item.inputs:
                planner.check_ref(ref, f"on-demand feature view '{item.name}'")
        elif isinstance(item, FeatureService):
            for ref in item.refs:
                planner.check_ref(ref, f"feature service '{item.name}'")
    changes: list[Change] = []
    for item in items:
        spec = item.to_spec()
        fingerprint = item.fingerprint()
        if isinstance(item, Entity) and spec["value_type"] is None:
            spec["value_type"] = planner.entity_types.get(item.name)
        if isinstance(item, FeatureService):
            views = {}
            for ref in item.refs:
                view = parse_ref(ref).view
                views[view] = planner.view_versions.get(view) or _stored_version(store, view)
            spec["views"] = views
            pinned = f"{fingerprint}:{sorted(views.items())}"
            fingerprint = hashlib.sha256(pinned.encode()).hexdigest()
        change = _change(item, spec, fingerprint, planner.stored(item.kind, item.name))
        if item.kind in ("feature_view", "on_demand_feature_view"):
            planner.view_versions[item.name] = change.version
        changes.append(change)
    return changes


def _stored_version(store: DefinitionStore, view: str) -> int:
    for kind in ("feature_view", "on_demand_feature_view"):
        stored = store.latest(kind, view)
        if stored is not None:
            return stored.version
    return 1


def _change(
    item: Definition, spec: dict[str, Any], fingerprint: str, stored: StoredDefinition | None
) -> Change:
    tags = tuple(sorted(dict(item.tags).items()))

    def change(action: Action, version: int, previous: int | None, details: list[str]) -> Change:
        return Change(
            item.kind,
            item.name,
            action,
            version,
            previous,
            tuple(details),
            spec,
            fingerprint,
            description=item.description,
            owner=item.owner,
            tags=tags,
        )

    if stored is None:
        return change("create", 1, None, ["new"])
    details = _diff(stored.spec, spec)
    if stored.fingerprint != fingerprint:
        return change("new_version", stored.version + 1, stored.version, details)
    if stored.description != item.description:
        details.append(f"description: {stored.description!r} -> {item.description!r}")
    if stored.owner != item.owner:
        details.append(f"owner: {stored.owner!r} -> {item.owner!r}")
    if dict(stored.tags) != dict(item.tags):
        details.append(f"tags: {stored.tags!r} -> {dict(item.tags)!r}")
    return change("update" if details else "unchanged", stored.version, stored.version, details)
