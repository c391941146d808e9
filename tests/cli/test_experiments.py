"""``podium experiments``."""

from __future__ import annotations

from podium.platform import Installation
from tests.cli.assertions import Invoke


def test_list(invoke: Invoke, embedded: Installation) -> None:
    tracking = embedded.platform().tracking
    churn = tracking.create_experiment("churn", description="who leaves")
    tracking.create_experiment("fraud")
    result = invoke("experiments", "list")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "churn" in line)
    assert churn.id in row and "who leaves" in row
    assert result.stdout.index("churn") < result.stdout.index("fraud")
