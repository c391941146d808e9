"""The quickstart's data: a synthetic customer-churn table, the same on every machine.

Churn follows a logistic model a data scientist would find plausible: month-to-month
contracts, new customers, many support calls and high charges raise it; long tenure and
longer contracts lower it. A few thresholds (new customers, expensive month-to-month
plans) make it not quite linear, so tree ensembles have something to find.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

__all__ = [
    "CONTRACTS",
    "DEFAULT_ROWS",
    "DESCRIPTION",
    "FIRST_CUSTOMER_ID",
    "SEED",
    "generate_customers",
]

SEED = 7
FIRST_CUSTOMER_ID = "12345"
"""The first customer's id (ids are strings of digits, counting up from it): the one
the example prediction request of the README fetches online features for."""
DEFAULT_ROWS = 2_000
CONTRACTS = ("month-to-month", "one-year", "two-year")
DESCRIPTION = (
    "Synthetic telecom customers (podium quickstart, seed 7): tenure, charges, contract, "
    "support calls, and whether the customer churned."
)

_CONTRACT_SHARE = (0.55, 0.25, 0.20)
_TYPICAL_TENURE = (12.0, 30.0, 45.0)  # months, per contract: longer contracts stay longer
_CONTRACT_EFFECT = (0.9, -0.4, -1.6)  # on the log-odds of churning


def generate_customers(
    rows: int = DEFAULT_ROWS, *, seed: int = SEED, now: datetime | None = None
) -> pd.DataFrame:
    """``rows`` customers, identical for one seed; ``event_ts`` is when each was last seen.

    Customer ids are strings (the ``customer`` entity's join key is a string), counting
    up from :data:`FIRST_CUSTOMER_ID`.

    Times are offsets before ``now`` (default: the current time), so the feature views'
    TTL always finds them fresh.
    """
    rng = np.random.default_rng(seed)
    now = now or datetime.now(UTC).replace(microsecond=0)
    contract_index = rng.choice(len(CONTRACTS), size=rows, p=_CONTRACT_SHARE)
    contract = np.asarray(CONTRACTS)[contract_index]
    tenure = np.clip(np.round(rng.exponential(np.asarray(_TYPICAL_TENURE)[contract_index])), 1, 72)
    monthly = np.round(np.clip(rng.normal(70.0, 25.0, rows), 18.0, 120.0), 2)
    total = np.round(tenure * monthly * rng.uniform(0.95, 1.05, rows), 2)
    support_calls = rng.poisson(1.2 + 0.8 * (monthly > 90.0))
    month_to_month = contract_index == 0
    log_odds = (
        -1.8
        - 0.03 * tenure
        + 0.02 * (monthly - 70.0)
        + 0.45 * support_calls
        + np.asarray(_CONTRACT_EFFECT)[contract_index]
        + 1.0 * (tenure <= 6)
        + 0.9 * ((monthly > 95.0) & month_to_month)
        - 0.8 * ((support_calls == 0) & (tenure > 24))
    )
    churned = rng.random(rows) < 1.0 / (1.0 + np.exp(-log_odds))
    seen_minutes_ago = rng.integers(1, 30 * 24 * 60, size=rows)
    return pd.DataFrame(
        {
            "customer_id": [str(int(FIRST_CUSTOMER_ID) + i) for i in range(rows)],
            "event_ts": [now - timedelta(minutes=int(m)) for m in seen_minutes_ago],
            "tenure_months": tenure.astype(int),
            "monthly_charges": monthly,
            "total_charges": total,
            "contract": contract,
            "support_calls": support_calls.astype(int),
            "churned": churned.astype(int),
        }
    )
