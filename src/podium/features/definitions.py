"""What a feature store is made of, declared in Python: entities, views, services.

The nouns are Feast's, so a Feast user reads them without a manual::

    customer = Entity("customer", join_keys=["customer_id"])
    stats = FeatureView(
        "customer_stats", entities=[customer], source="raw.customers",
        timestamp_field="event_ts", ttl=timedelta(days=30),
        features=[Feature("tenure_months", "int64"), Feature("monthly_charges", "float64")],
    )
    churn = FeatureService("churn_model", features=[stats])

Constructors only store and check their arguments; nothing touches storage until
``p.features.apply([...])``. Each definition turns into a JSON ``spec`` (what is stored)
and a ``fingerprint`` over the parts that change what it computes, so ``apply`` can tell
an edit of a description (same version) from a change of source or types (new version).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import pandas as pd

from podium.errors import InvalidInputError

__all__ = [
    "VALUE_TYPES",
    "Definition",
    "Entity",
    "Feature",
    "FeatureService",
    "FeatureView",
    "OnDemandFeatureView",
    "definition_from_spec",
    "is_query_source",
]

VALUE_TYPES = ("int64", "float64", "string", "bool", "timestamp")
"""Types a feature may have (the Arrow/DuckDB types of the same names)."""

KEY_TYPES = ("int64", "string")
"""Types an entity's join key may have."""

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

Kind = Literal["entity", "feature_view", "on_demand_feature_view", "feature_service"]


def _check_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise InvalidInputError(
            f"the name of a {what} must be lowercase letters, digits and '_', starting with "
            f"a letter (at most 63); got {value!r} instead",
            field="name",
            remedy="rename it, e.g. 'customer_stats'",
        )
    return value


def _check_column(value: object, what: str) -> str:
    if not isinstance(value, str) or not _COLUMN.match(value):
        raise InvalidInputError(
            f"{what} must be a column name (letters, digits, '_'); got {value!r} instead",
            field=what,
        )
    return value


def _check_type(value: object, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise InvalidInputError(
            f"{what} must be one of {', '.join(allowed)}; got {value!r} instead",
            field=what,
        )
    return str(value)


def is_query_source(source: str) -> bool:
    """Whether a view's source is a SQL query (else it names a lake table)."""
    return source.strip().lower().startswith(("select", "with", "("))


def _fingerprint(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Feature:
    """One typed feature: ``Feature("tenure_months", "int64")``.

    ``pii=True`` (a ``"string"`` feature) declares personal data: applying the view checks
    its source column is stored as tokens (ADR 0045), so no value reaches the offline or
    online store in clear.
    """

    name: str
    dtype: str = "float64"
    description: str = ""
    pii: bool = False

    def __post_init__(self) -> None:
        _check_column(self.name, "feature name")
        _check_type(self.dtype, VALUE_TYPES, f"the type of feature '{self.name}'")
        if self.pii and self.dtype != "string":
            raise InvalidInputError(
                f"pii feature '{self.name}' must have dtype 'string' (it holds tokens); "
                f"got {self.dtype!r} instead",
                field="dtype",
                remedy=f"declare Feature({self.name!r}, 'string', pii=True)",
            )

    def to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "name": self.name,
            "dtype": self.dtype,
            "description": self.description,
        }
        if self.pii:  # only when set, so specs stored before pii existed still match
            spec["pii"] = True
        return spec


@dataclass(frozen=True, kw_only=True)
class _Meta:
    description: str = ""
    owner: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Entity(_Meta):
    """A thing features describe, identified by its join key columns.

    ``value_type`` is the key type (``"int64"`` or ``"string"``); left out, it is taken
    from the source of the first view that uses the entity when the view is applied.
    """

    name: str
    join_keys: Sequence[str] = ()
    value_type: str | None = None
    kind: Kind = field(default="entity", init=False)

    def __post_init__(self) -> None:
        _check_name(self.name, "entity")
        keys = list(self.join_keys) or [f"{self.name}_id"]
        for key in keys:
            _check_column(key, "join key")
        object.__setattr__(self, "join_keys", tuple(keys))
        if self.value_type is not None:
            _check_type(self.value_type, KEY_TYPES, f"the value_type of entity '{self.name}'")

    def to_spec(self) -> dict[str, Any]:
        return {"join_keys": list(self.join_keys), "value_type": self.value_type}

    def fingerprint(self) -> str:
        return _fingerprint(self.to_spec())


@dataclass(frozen=True)
class FeatureView(_Meta):
    """Features of one or more entities, read from a lake table or a SQL query over them.

    ``source`` is a table name (``"raw.customers"``) or a ``SELECT`` over lake tables.
    A row counts for an entity at time t when ``t - ttl <= timestamp_field <= t``; among
    such rows the latest wins, ties broken by ``created_timestamp_field``. ``online=False``
    keeps the view out of materialization.
    """

    name: str
    entities: Sequence[Entity | str] = ()
    source: str = ""
    timestamp_field: str = "event_timestamp"
    created_timestamp_field: str | None = None
    ttl: timedelta | None = None
    features: Sequence[Feature] = ()
    online: bool = True
    kind: Kind = field(default="feature_view", init=False)

    def __post_init__(self) -> None:
        _check_name(self.name, "feature view")
        if not self.entities:
            raise InvalidInputError(
                f"feature view '{self.name}' names no entity",
                field="entities",
                remedy="pass entities=[Entity(...)] naming whose features these are",
            )
        if not isinstance(self.source, str) or not self.source.strip():
            raise InvalidInputError(
                f"feature view '{self.name}' has no source",
                field="source",
                remedy="pass source='zone.table' or source='SELECT ... FROM zone.table'",
            )
        _check_column(self.timestamp_field, "timestamp_field")
        if self.created_timestamp_field is not None:
            _check_column(self.created_timestamp_field, "created_timestamp_field")
        if self.ttl is not None and (
            not isinstance(self.ttl, timedelta) or self.ttl <= timedelta(0)
        ):
            raise InvalidInputError(
                f"the ttl of feature view '{self.name}' must be a positive timedelta or None; "
                f"got {self.ttl!r} instead",
                field="ttl",
            )
        if not self.features:
            raise InvalidInputError(
                f"feature view '{self.name}' declares no features",
                field="features",
                remedy="pass features=[Feature('name', 'float64'), ...]",
            )
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise InvalidInputError(
                f"feature view '{self.name}' declares a feature twice: {names}",
                field="features",
            )
        object.__setattr__(self, "entities", tuple(self.entities))
        object.__setattr__(self, "features", tuple(self.features))

    @property
    def entity_names(self) -> list[str]:
        return [e if isinstance(e, str) else e.name for e in self.entities]

    @property
    def is_query(self) -> bool:
        """Whether the source is a SQL query rather than a table name."""
        return is_query_source(self.source)

    def to_spec(self) -> dict[str, Any]:
        return {
            "entities": self.entity_names,
            "source": self.source.strip(),
            "timestamp_field": self.timestamp_field,
            "created_timestamp_field": self.created_timestamp_field,
            "ttl_seconds": None if self.ttl is None else self.ttl.total_seconds(),
            "features": [f.to_spec() for f in self.features],
            "online": self.online,
        }

    def fingerprint(self) -> str:
        spec = self.to_spec()
        # What a row means: source, keys, time columns and typed features. The TTL, the
        # online flag and descriptions change how rows are used, not what they are.
        spec.pop("ttl_seconds")
        spec.pop("online")
        spec["features"] = [(f.name, f.dtype) for f in self.features]
        return _fingerprint(spec)


OnDemandFunction = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class OnDemandFeatureView(_Meta):
    """Features computed by a Python function, the same code offline and online.

    ``function`` takes a pandas DataFrame with one column per input (``"view:feature"``
    inputs appear under the feature's name, request fields under their own) and returns a
    DataFrame with one column per declared feature, row for row. It must be importable
    (a module-level function), so every process that serves the view runs the same code.
    """

    name: str
    function: OnDemandFunction | None = None
    inputs: Sequence[str] = ()
    request_fields: Mapping[str, str] = field(default_factory=dict)
    features: Sequence[Feature] = ()
    kind: Kind = field(default="on_demand_feature_view", init=False)

    def __post_init__(self) -> None:
        _check_name(self.name, "on-demand feature view")
        if self.function is None or not callable(self.function):
            raise InvalidInputError(
                f"on-demand feature view '{self.name}' needs a function",
                field="function",
                remedy="pass function=my_module.compute (a module-level function)",
            )
        for name, dtype in self.request_fields.items():
            _check_column(name, "request field")
            _check_type(dtype, VALUE_TYPES, f"the type of request field '{name}'")
        if not self.features:
            raise InvalidInputError(
                f"on-demand feature view '{self.name}' declares no features",
                field="features",
            )
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "request_fields", dict(self.request_fields))

    @property
    def function_path(self) -> str:
        """``module:qualname`` of the function, checked to import back to it."""
        function = self.function
        module = getattr(function, "__module__", None)
        qualname = getattr(function, "__qualname__", "")
        if not module or module == "__main__" or "<" in qualname:
            raise InvalidInputError(
                f"the function of on-demand feature view '{self.name}' must be defined at "
                f"module level in an importable module; got {qualname or function!r} "
                f"in {module!r}",
                field="function",
                remedy="move it into a module (e.g. features.py) and import it from there",
            )
        return f"{module}:{qualname}"

    def to_spec(self) -> dict[str, Any]:
        return {
            "function": self.function_path,
            "inputs": list(self.inputs),
            "request_fields": dict(self.request_fields),
            "features": [f.to_spec() for f in self.features],
        }

    def fingerprint(self) -> str:
        spec = self.to_spec()
        spec["features"] = [(f.name, f.dtype) for f in self.features]
        return _fingerprint(spec)


@dataclass(frozen=True)
class FeatureService(_Meta):
    """A named set of features a model consumes: views (all their features) or refs.

    ``features=[stats, "customer_stats:tenure_months"]``. Each apply that changes the
    set, or a view version it resolves to, adds a version of the service.
    """

    name: str
    features: Sequence[FeatureView | OnDemandFeatureView | str] = ()
    kind: Kind = field(default="feature_service", init=False)

    def __post_init__(self) -> None:
        _check_name(self.name, "feature service")
        if not self.features:
            raise InvalidInputError(
                f"feature service '{self.name}' names no features",
                field="features",
                remedy="pass features=[view, 'view:feature', ...]",
            )
        object.__setattr__(self, "features", tuple(self.features))

    @property
    def refs(self) -> list[str]:
        """Feature references, ``view:feature``, in the order given."""
        refs: list[str] = []
        for item in self.features:
            if isinstance(item, str):
                refs.append(item)
            else:
                refs.extend(f"{item.name}:{f.name}" for f in item.features)
        return refs

    def to_spec(self) -> dict[str, Any]:
        return {"features": self.refs}

    def fingerprint(self) -> str:
        return _fingerprint(self.to_spec())


Definition = Entity | FeatureView | OnDemandFeatureView | FeatureService


def _meta(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "description": row.get("description", ""),
        "owner": row.get("owner", ""),
        "tags": dict(row.get("tags") or {}),
    }


def _features(spec: Mapping[str, Any]) -> list[Feature]:
    return [
        Feature(f["name"], f["dtype"], f.get("description", ""), pii=bool(f.get("pii", False)))
        for f in spec["features"]
    ]


def load_function(path: str, *, view: str) -> OnDemandFunction:
    """Import ``module:qualname`` (an on-demand view's function) or say why it cannot."""
    module_name, _, qualname = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidInputError(
            f"the function {path} of on-demand feature view '{view}' cannot be imported "
            f"in this process: {exc}",
            field="function",
            remedy="install the module defining it where podium runs, or re-apply the view",
        ) from exc
    if not callable(target):
        raise InvalidInputError(f"{path} of view '{view}' is not callable", field="function")
    return target  # type: ignore[no-any-return]


def definition_from_spec(kind: str, name: str, spec: Mapping[str, Any], **meta: Any) -> Definition:
    """Rebuild a definition from what :meth:`to_spec` stored (functions are imported)."""
    extra = _meta(meta)
    if kind == "entity":
        return Entity(name, spec["join_keys"], spec.get("value_type"), **extra)
    if kind == "feature_view":
        ttl = spec.get("ttl_seconds")
        return FeatureView(
            name,
            entities=list(spec["entities"]),
            source=spec["source"],
            timestamp_field=spec["timestamp_field"],
            created_timestamp_field=spec.get("created_timestamp_field"),
            ttl=None if ttl is None else timedelta(seconds=ttl),
            features=_features(spec),
            online=spec.get("online", True),
            **extra,
        )
    if kind == "on_demand_feature_view":
        return OnDemandFeatureView(
            name,
            function=load_function(spec["function"], view=name),
            inputs=list(spec["inputs"]),
            request_fields=dict(spec["request_fields"]),
            features=_features(spec),
            **extra,
        )
    if kind == "feature_service":
        return FeatureService(name, features=list(spec["features"]), **extra)
    raise InvalidInputError(f"unknown definition kind {kind!r}", field="kind")
