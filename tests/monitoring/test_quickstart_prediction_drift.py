"""After ``podium quickstart``, ``podium monitor drift customer-churn`` has a value in its
``(prediction)`` row: the reference holds the model's predictions on its rows, so the
quickstart's traffic (all in one window, none before it) is compared with them."""

from __future__ import annotations

import re

from podium.platform import Installation
from tests.cli.assertions import Invoke
from tests.cli.conftest import embedded, home, invoke  # noqa: F401  (fixtures)


def test_prediction_drift_has_a_value_after_the_quickstart(
    invoke: Invoke,  # noqa: F811
    embedded: Installation,  # noqa: F811
) -> None:
    result = invoke("quickstart", "--no-serve", "--rows", "400")
    assert result.exit_code == 0, result.output

    drift = invoke("monitor", "drift", "customer-churn")
    assert drift.exit_code == 0, drift.output
    row = next(line for line in drift.stdout.splitlines() if "(prediction)" in line)
    assert re.search(r"\s\d+\.\d+\s+\d+\.\d+\s+(drift|ok)\s", row), row
    assert "no values" not in row

    found = embedded.platform().monitoring.drift("customer-churn").prediction
    assert found is not None and found.score is not None
    assert "window before" not in found.reason  # compared with the reference's predictions
