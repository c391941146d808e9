"""``podium models lineage`` and ``podium data lineage`` after the quickstart: one graph,
from the deployment down to the raw table (before, it stopped at the training table)."""

from __future__ import annotations

from tests.cli.assertions import Invoke


def test_lineage_of_the_quickstart_model_reaches_the_raw_table(invoke: Invoke) -> None:
    assert invoke("quickstart", "--no-serve", "--rows", "400").exit_code == 0

    model = invoke("models", "lineage", "customer-churn@production")
    assert model.exit_code == 0, model.output
    out = model.stdout
    assert out.splitlines()[0].startswith("model_version customer-churn/1")
    for expected in (
        "table curated.churn_train@0  (read by)",
        "table curated.churn_features@0  (derived from)",
        "table raw.customers@0  (derived from)",
        "feature view customer_stats@1  (features)",
        "used by",
        "deployment customer-churn  (stable in)",
    ):
        assert expected in out, out

    near = invoke("models", "lineage", "customer-churn@production", "--depth", "1").stdout
    assert "raw.customers" not in near and "deployment customer-churn" in near

    raw = invoke("data", "lineage", "raw.customers@0")
    assert raw.exit_code == 0, raw.output
    assert "model:customer-churn/1" in raw.stdout and "deployment:customer-churn" in raw.stdout

    deployment = invoke("data", "lineage", "deployment:customer-churn")
    assert deployment.exit_code == 0, deployment.output
    assert "raw.customers@0" in deployment.stdout
