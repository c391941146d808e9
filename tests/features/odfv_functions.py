"""On-demand feature view functions used by the tests (importable, as podium requires)."""

from __future__ import annotations

import pandas as pd


def charge_per_tenure(inputs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {"charge_per_tenure": inputs["monthly_charges"] / (inputs["tenure_months"] + 1)}
    )


def discounted(inputs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {"discounted_charges": inputs["monthly_charges"] * (1 - inputs["discount"])}
    )


def explode(inputs: pd.DataFrame) -> pd.DataFrame:
    raise ZeroDivisionError("the model of the world broke")
