"""The feature store over HTTP: the same interface as the embedded FeatureStore.

Definitions are sent as their ``to_spec()`` and rebuilt by the server (an on-demand view's
function must be importable there too). Entity frames and training sets travel as Arrow
IPC streams, so :meth:`HttpFeatures.get_historical_features` returns exactly the types the
embedded store returns; its ``save()`` asks the server to compute and save it again.
Online values of ``timestamp`` features come back as ISO 8601 strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
from pydantic import TypeAdapter

from podium.client.data import arrow_bytes, read_arrow
from podium.client.http import ApiClient, url_path
from podium.data.inputs import to_arrow
from podium.data.types import TableVersion
from podium.errors import BackendUnavailableError, InvalidInputError
from podium.features.definitions import Definition, FeatureService, definition_from_spec
from podium.features.historical import HistoricalFeatures, entity_table
from podium.features.materialize import Progress
from podium.features.online.read import OnlineFeatures
from podium.features.protocol import (
    DefinitionDescription,
    FeatureList,
    FeatureSearchHit,
    MaterializationRun,
    Materialized,
    Pushed,
)
from podium.features.stored import Change, StoredDefinition

__all__ = ["HttpFeatures"]

_BASE = "/v1/features"
_INPUTS = "x-podium-inputs"
_FEATURES = "x-podium-features"
_SAVED = "x-podium-saved"

_HITS = TypeAdapter(list[FeatureSearchHit])
_MATERIALIZED = TypeAdapter(list[Materialized])
_RUNS = TypeAdapter(list[MaterializationRun])


def _definition_json(item: Definition) -> dict[str, Any]:
    if not hasattr(item, "to_spec") or not hasattr(item, "kind"):
        raise InvalidInputError(
            f"apply takes Entity, FeatureView, OnDemandFeatureView and FeatureService "
            f"objects; got {type(item).__name__}",
            field="definitions",
        )
    return {
        "kind": item.kind,
        "name": item.name,
        "spec": item.to_spec(),
        "description": item.description,
        "owner": item.owner,
        "tags": dict(item.tags),
    }


def _change(answer: Mapping[str, Any]) -> Change:
    return Change(
        kind=str(answer["kind"]),
        name=str(answer["name"]),
        action=answer["action"],
        version=int(answer["version"]),
        previous_version=answer.get("previous_version"),
        details=tuple(answer.get("details", ())),
        spec=dict(answer.get("spec") or {}),
        fingerprint=str(answer.get("fingerprint", "")),
        description=str(answer.get("description", "")),
        owner=str(answer.get("owner", "")),
        tags=tuple((str(k), str(v)) for k, v in (answer.get("tags") or {}).items()),
    )


def _stored(answer: Mapping[str, Any]) -> StoredDefinition:
    return StoredDefinition(
        kind=str(answer["kind"]),
        name=str(answer["name"]),
        version=int(answer["version"]),
        fingerprint=str(answer.get("fingerprint", "")),
        spec=dict(answer["spec"]),
        description=str(answer.get("description", "")),
        owner=str(answer.get("owner", "")),
        tags={str(k): str(v) for k, v in (answer.get("tags") or {}).items()},
        created_by=str(answer.get("created_by", "")),
        created_at=datetime.fromisoformat(answer["created_at"]),
        updated_at=datetime.fromisoformat(answer["updated_at"]),
    )


def _split(header: str | None) -> list[str]:
    return [item for item in (header or "").split(",") if item]


class HttpFeatures:
    """``p.features`` against a podium server (see :class:`podium.features.protocol.Features`)."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    # -- definitions -------------------------------------------------------------------
    def plan(self, definitions: Sequence[Definition]) -> list[Change]:
        """What :meth:`apply` would change, checked by the server; stores nothing."""
        return self._changes("plan", definitions)

    def apply(self, definitions: Sequence[Definition]) -> list[Change]:
        """Check and store ``definitions`` on the server in one transaction."""
        return self._changes("apply", definitions)

    def list_definitions(self, kind: str | None = None) -> list[StoredDefinition]:
        """The newest version of every definition (``kind``: ``"feature_view"``, ...)."""
        params = {} if kind is None else {"kind": kind}
        answer = self._api.json("GET", f"{_BASE}/definitions", params=params)
        return [_stored(item) for item in answer]

    def get(
        self, name: str, *, kind: str = "feature_view", version: int | None = None
    ) -> Definition:
        """The stored definition ``name`` as a Python object (an on-demand view's function
        must be importable here)."""
        params: dict[str, Any] = {"kind": kind}
        if version is not None:
            params["version"] = version
        url = url_path(_BASE + "/definitions/{}/stored", name)
        answer = self._api.json("GET", url, params=params)
        return definition_from_spec(
            answer["kind"],
            answer["name"],
            answer["spec"],
            description=answer.get("description", ""),
            owner=answer.get("owner", ""),
            tags=answer.get("tags") or {},
        )

    def describe(self, name: str) -> DefinitionDescription:
        """A view's (or service's, entity's) definition, versions, freshness and users."""
        answer = self._api.json("GET", url_path(_BASE + "/definitions/{}", name))
        return DefinitionDescription.model_validate(answer)

    def search(self, text: str) -> list[FeatureSearchHit]:
        """Definitions and features whose name, description, owner or tags match ``text``."""
        return _HITS.validate_python(self._api.json("GET", f"{_BASE}/search", params={"q": text}))

    # -- offline -----------------------------------------------------------------------
    def get_historical_features(self, entity_df: Any, features: FeatureList) -> HistoricalFeatures:
        """Point-in-time correct features for each row of ``entity_df``, computed by the server.

        ``save(name)`` on the result asks the server to compute it again and write it to
        lake table ``name``.
        """
        body = arrow_bytes(entity_table(entity_df))
        params = _feature_params(features)
        table, inputs, pinned, _ = self._historical(body, params)

        def save(name: str, _result: HistoricalFeatures) -> TableVersion:
            saved_table, _, _, ref = self._historical(body, {**params, "save": name})
            if ref is None:
                raise BackendUnavailableError(
                    f"the server did not say which version of {name} it saved",
                    remedy="check that the URL given to podium.connect() is a podium server",
                )
            table_name, _, version = ref.partition("@")
            return TableVersion(table_name, int(version), saved_table.num_rows)

        return HistoricalFeatures(table=table, inputs=inputs, features=pinned, _saver=save)

    def _historical(
        self, body: bytes, params: dict[str, Any]
    ) -> tuple[pa.Table, list[str], list[str], str | None]:
        response = self._api.request(
            "POST",
            f"{_BASE}/historical",
            content=body,
            params={**params, "format": "arrow"},
        )
        table = read_arrow(response.content, what="get_historical_features()")
        return (
            table,
            _split(response.headers.get(_INPUTS)),
            _split(response.headers.get(_FEATURES)),
            response.headers.get(_SAVED),
        )

    # -- online ------------------------------------------------------------------------
    def get_online_features(
        self, entity_rows: Sequence[Mapping[str, Any]], features: FeatureList
    ) -> OnlineFeatures:
        """The latest values of ``features`` for ``entity_rows`` from the server's online store."""
        if not isinstance(entity_rows, Sequence) or not all(
            isinstance(row, Mapping) for row in entity_rows
        ):
            raise InvalidInputError(
                "entity_rows must be a list of objects, e.g. [{'customer_id': 7}]",
                field="entity_rows",
            )
        rows = [dict(row) for row in entity_rows]
        body: dict[str, Any] = {"entity_rows": rows}
        if isinstance(features, str) and ":" not in features:
            body["feature_service"] = features
        elif isinstance(features, FeatureService):
            body["features"] = features.refs
        else:
            body["features"] = [features] if isinstance(features, str) else list(features)
        answer = self._api.json("POST", f"{_BASE}/online", json=body)
        return OnlineFeatures(
            values={str(k): list(v) for k, v in answer["features"].items()},
            statuses={str(k): [str(s) for s in v] for k, v in answer["statuses"].items()},
            entity_rows=rows,
            versions={str(k): int(v) for k, v in answer.get("versions", {}).items()},
        )

    def materialize(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        views: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> list[Materialized]:
        """Load each online view's latest values with event times in [start, end].

        ``progress`` is called once, with the totals, when the server is done.
        """
        return self._materialize(
            {"start": _iso(start), "end": _iso(end), "incremental": False}, views, progress
        )

    def materialize_incremental(
        self,
        end: datetime | None = None,
        *,
        views: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> list[Materialized]:
        """Like :meth:`materialize`, each view from where its last materialization ended."""
        return self._materialize({"end": _iso(end), "incremental": True}, views, progress)

    def _materialize(
        self, body: dict[str, Any], views: Sequence[str] | None, progress: Progress | None
    ) -> list[Materialized]:
        if views is not None:
            body["views"] = list(views)
        done = _MATERIALIZED.validate_python(
            self._api.json("POST", f"{_BASE}/materialize", json=body)
        )
        if progress is not None:
            rows = sum(item.rows for item in done)
            progress(rows, rows)
        return done

    def push(self, view: str, rows: Any) -> Pushed:
        """Append ``rows`` (a DataFrame or Arrow table) to the view's source and online store."""
        body = arrow_bytes(to_arrow(rows))
        answer = self._api.json(
            "POST", url_path(_BASE + "/push/{}", view), content=body, params={"format": "arrow"}
        )
        return Pushed.model_validate(answer)

    def materializations(self, view: str) -> list[MaterializationRun]:
        """Every materialization of ``view``, newest first (freshness)."""
        return _RUNS.validate_python(
            self._api.json("GET", url_path(_BASE + "/views/{}/materializations", view))
        )

    # -- internals ---------------------------------------------------------------------
    def _changes(self, verb: str, definitions: Sequence[Definition]) -> list[Change]:
        body = {"definitions": [_definition_json(item) for item in definitions]}
        return [_change(item) for item in self._api.json("POST", f"{_BASE}/{verb}", json=body)]


def _iso(moment: datetime | None) -> str | None:
    if moment is not None and not isinstance(moment, datetime):
        raise InvalidInputError(f"start and end must be datetimes; got {moment!r}", field="end")
    return None if moment is None else moment.isoformat()


def _feature_params(features: FeatureList) -> dict[str, Any]:
    if isinstance(features, FeatureService):
        return {"features": features.refs}
    if isinstance(features, str):
        return {"feature_service": features} if ":" not in features else {"features": [features]}
    return {"features": list(features)}
