"""Training sets: point-in-time correct features for an entity frame, with their lineage.

``get_historical_features`` resolves the requested references to view versions, hands the
views' Delta tables (as Arrow datasets, so DuckDB reads only what it needs) to the ASOF
join of :mod:`podium.features.offline`, runs on-demand views on the joined frame, and
returns a :class:`HistoricalFeatures` that knows exactly which table versions it read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]

from podium.data.inputs import to_arrow
from podium.data.service import DataService, query_inputs
from podium.data.types import TableVersion
from podium.errors import InvalidInputError
from podium.features.offline import ViewSource, parquet_connection, point_in_time_join
from podium.features.on_demand import run_on_demand
from podium.features.refs import FeatureRef
from podium.features.resolve import ResolvedOnDemand, ResolvedView, ViewResolver

__all__ = ["EVENT_TIMESTAMP", "HistoricalFeatures", "build_historical", "entity_table"]

EVENT_TIMESTAMP = "event_timestamp"
"""The entity frame's time column (Feast's name)."""


@dataclass
class HistoricalFeatures:
    """A point-in-time correct training set and what it was computed from.

    ``inputs`` are the lake table versions read (``raw.customers@3``); ``features`` the
    pinned feature references (``customer_stats@1:tenure_months``). :meth:`save` writes it
    to the lake with lineage from both, so a run that logs the saved table as its input
    can be traced back to the exact feature view versions and source rows.
    """

    table: pa.Table
    inputs: list[str]
    features: list[str]
    _saver: Callable[[str, HistoricalFeatures], TableVersion] = field(repr=False)

    def to_arrow(self) -> pa.Table:
        """The result as an Arrow table."""
        return self.table

    def to_pandas(self) -> pd.DataFrame:
        """The result as a pandas DataFrame, one row per entity row, in input order."""
        frame: pd.DataFrame = self.table.to_pandas()
        return frame

    to_df = to_pandas  # Feast's name

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def save(self, name: str) -> TableVersion:
        """Write the training set to lake table ``name`` (replacing it) with lineage."""
        return self._saver(name, self)

    def __repr__(self) -> str:
        return (
            f"HistoricalFeatures({self.table.num_rows} rows, columns={self.table.column_names}, "
            f"inputs={self.inputs})"
        )

    def _repr_html_(self) -> str:
        from podium.notebook.features import training_set_html

        return training_set_html(self)


def entity_table(entity: Any) -> pa.Table:
    """The entity frame as Arrow (a DataFrame or an Arrow table; anything else is refused)."""
    if isinstance(entity, pa.Table):
        return entity
    if isinstance(entity, pd.DataFrame):
        return to_arrow(entity)
    raise InvalidInputError(
        f"entity_df must be a pandas DataFrame or an Arrow table; got {type(entity).__name__}",
        field="entity_df",
        remedy="pass a DataFrame with the join keys and an 'event_timestamp' column",
    )


def build_historical(
    entity_df: Any,
    refs: Sequence[FeatureRef],
    *,
    resolver: ViewResolver,
    data: DataService,
    saver: Callable[[str, HistoricalFeatures], TableVersion],
) -> HistoricalFeatures:
    """Join the features ``refs`` onto ``entity_df`` as of each row's ``event_timestamp``."""
    entity = entity_table(entity_df)
    if EVENT_TIMESTAMP not in entity.column_names:
        raise InvalidInputError(
            f"entity_df has no '{EVENT_TIMESTAMP}' column (it has "
            f"{', '.join(entity.column_names)})",
            field=EVENT_TIMESTAMP,
            remedy="add the time as of which each row's features are wanted",
        )
    plain: dict[str, tuple[ResolvedView, list[str]]] = {}
    hidden: set[tuple[str, str]] = set()  # (view, feature) fetched only for on-demand inputs
    on_demand: list[tuple[ResolvedOnDemand, list[str]]] = []

    def want(view: ResolvedView, names: list[str], *, visible: bool) -> None:
        _, wanted = plain.setdefault(view.name, (view, []))
        for name in names:
            if name not in wanted:
                wanted.append(name)
                if not visible:
                    hidden.add((view.name, name))
            elif visible:
                hidden.discard((view.name, name))

    for ref in refs:
        resolved = resolver.resolve(ref.view, ref.version)
        if isinstance(resolved, ResolvedView):
            want(resolved, resolved.feature_names(ref), visible=True)
        else:
            on_demand.append((resolved, resolved.feature_names(ref)))
    for odfv, _ in on_demand:
        for ref in odfv.inputs:
            view = resolver.view(ref.view, ref.version)
            want(view, view.feature_names(ref), visible=False)
        for name in odfv.request_fields:
            if name not in entity.column_names:
                raise InvalidInputError(
                    f"on-demand feature view '{odfv.name}' needs request field '{name}', "
                    "which entity_df does not have",
                    field=name,
                    remedy=f"add a '{name}' column to entity_df",
                )

    sources: dict[str, Any] = {}
    files: dict[str, list[str]] = {}
    view_sources: list[ViewSource] = []
    inputs: list[str] = []
    for index, (view, names) in enumerate(plain.values()):
        alias = f"src_{index}"
        if view.is_query:
            for table, version in query_inputs(view.source, data.tables()):
                inputs.append(data.ref(table) if version is None else f"{table}@{version}")
            sources[alias] = data.sql(view.source)
        else:
            # A local table's Parquet files are read natively (faster than the dataset).
            local = data.local_files(view.source)
            if local is not None:
                table_ref, files[alias] = local
            else:
                table_ref, sources[alias] = data.dataset(view.source)
            inputs.append(table_ref)
        view_sources.append(
            ViewSource(
                name=view.name,
                relation=f"SELECT * FROM {alias}",
                join_keys=view.join_keys,
                timestamp_field=view.timestamp_field,
                created_timestamp_field=view.created_timestamp_field,
                ttl=view.ttl,
                features=tuple(names),
            )
        )
    con = parquet_connection(files) if files else None
    try:
        joined = point_in_time_join(
            entity, view_sources, sources=sources, event_timestamp=EVENT_TIMESTAMP, con=con
        )
    finally:
        if con is not None:
            con.close()
    columns = _column_names(list(plain.values()), entity.column_names)
    for odfv, names in on_demand:
        frame = pd.DataFrame(
            {ref.feature: joined.column(columns[(ref.view, ref.feature)]) for ref in odfv.inputs}
        )
        for request_field in odfv.request_fields:
            frame[request_field] = entity.column(request_field).to_pandas()
        computed = run_on_demand(odfv, frame)
        for name in names:
            joined = joined.append_column(name, pa.array(computed[name], from_pandas=True))
    drop = [columns[item] for item in sorted(hidden)]
    joined = joined.drop_columns(drop) if drop else joined
    pinned = [
        f"{view.name}@{view.version}:{name}"
        for view, names in plain.values()
        for name in names
        if (view.name, name) not in hidden
    ] + [f"{odfv.name}@{odfv.version}:{name}" for odfv, names in on_demand for name in names]
    return HistoricalFeatures(
        table=joined, inputs=sorted(set(inputs)), features=pinned, _saver=saver
    )


def _column_names(
    views: list[tuple[ResolvedView, list[str]]], entity_columns: list[str]
) -> dict[tuple[str, str], str]:
    """Result column of each (view, feature): the feature name, ``view__feature`` on a clash."""
    counts: dict[str, int] = {}
    for _, names in views:
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    taken = set(entity_columns)
    return {
        (view.name, name): f"{view.name}__{name}" if counts[name] > 1 or name in taken else name
        for view, names in views
        for name in names
    }
