"""Running an on-demand view's function: the same call offline and online."""

from __future__ import annotations

import pandas as pd

from podium.errors import InvalidInputError
from podium.features.resolve import ResolvedOnDemand

__all__ = ["run_on_demand"]


def run_on_demand(view: ResolvedOnDemand, inputs: pd.DataFrame) -> pd.DataFrame:
    """Call ``view``'s function on ``inputs`` and check it returned its features, row for row.

    Raises :class:`InvalidInputError` naming the view when the function raises or returns
    something else than one row per input row with every declared feature.
    """
    try:
        result = view.function(inputs.copy())
    except Exception as exc:  # user code: any failure is reported, naming the view
        raise InvalidInputError(
            f"on-demand feature view '{view.name}' raised {type(exc).__name__}: {exc}",
            field=view.name,
            remedy="fix the function (it gets one column per input) and apply it again",
        ) from exc
    if not isinstance(result, pd.DataFrame):
        raise InvalidInputError(
            f"on-demand feature view '{view.name}' returned {type(result).__name__}; it must "
            "return a pandas DataFrame",
            field=view.name,
        )
    missing = [name for name in view.features if name not in result.columns]
    if missing or len(result) != len(inputs):
        raise InvalidInputError(
            f"on-demand feature view '{view.name}' must return {len(inputs)} rows with columns "
            f"{list(view.features)}; it returned {len(result)} rows with {list(result.columns)}",
            field=view.name,
        )
    return result[list(view.features)].reset_index(drop=True)
