"""The feature catalog: describe a definition (versions, freshness, users) and search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podium.errors import NotFoundError
from podium.features.refs import parse_ref
from podium.features.stored import DefinitionStore, StoredDefinition

__all__ = ["describe", "search"]

_KINDS = ("feature_view", "on_demand_feature_view", "feature_service", "entity")


def _find(store: DefinitionStore, name: str) -> StoredDefinition:
    for kind in _KINDS:
        found = store.latest(kind, name)
        if found is not None:
            return found
    known = ", ".join(sorted({d.name for d in store.list()})) or "none yet"
    raise NotFoundError(
        f"no feature view, service or entity is named '{name}' (known: {known})",
        field="name",
        remedy="list definitions with 'podium features ls'",
    )


def describe(
    store: DefinitionStore,
    name: str,
    *,
    materializations: Callable[[str], list[dict[str, Any]]],
) -> dict[str, Any]:
    """Everything known about ``name``: definition, versions, services using it, freshness."""
    found = _find(store, name)
    result = found.to_dict()
    result["versions"] = [
        {"version": v.version, "created_at": v.created_at.isoformat(), "created_by": v.created_by}
        for v in store.versions(found.kind, name)
    ]
    if found.kind in ("feature_view", "on_demand_feature_view"):
        result["used_by_services"] = sorted(
            service.name
            for service in store.list("feature_service")
            if any(parse_ref(ref).view == name for ref in service.spec["features"])
        )
        result["used_by_views"] = sorted(
            odfv.name
            for odfv in store.list("on_demand_feature_view")
            if any(parse_ref(ref).view == name for ref in odfv.spec["inputs"])
        )
    if found.kind == "feature_view":
        runs = materializations(name)
        result["materializations"] = [
            {
                **run,
                "start": None if run["start"] is None else run["start"].isoformat(),
                "end": run["end"].isoformat(),
                "at": run["at"].isoformat(),
            }
            for run in runs[:10]
        ]
        result["fresh_until"] = runs[0]["end"].isoformat() if runs else None
    return result


def search(store: DefinitionStore, text: str) -> list[dict[str, Any]]:
    """Definitions and features matching ``text`` (case-insensitive substring)."""
    needle = text.lower().strip()
    hits = []
    for item in store.list():
        haystack = " ".join(
            [item.name, item.description, item.owner, *item.tags.keys(), *item.tags.values()]
        ).lower()
        features = [
            f["name"]
            for f in item.spec.get("features", [])
            if isinstance(f, dict)
            and (needle in f["name"].lower() or needle in f.get("description", "").lower())
        ]
        if needle in haystack or features:
            hits.append(
                {
                    "kind": item.kind,
                    "name": item.name,
                    "version": item.version,
                    "description": item.description,
                    "owner": item.owner,
                    "matching_features": features,
                }
            )
    return hits
