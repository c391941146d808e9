"""A pipeline step runs a batch job (so schedules and triggers can run it)."""

from __future__ import annotations

import podium
from podium.pipelines.context import current_platform
from podium.platform import Platform
from tests.batch.conftest import Scored


@podium.step(cache=False)
def score(model: str) -> int:
    job = current_platform().batch.predict(
        model, source="curated.customers", output="scores.churn", key="customer_id"
    )
    if job.status != "succeeded":
        raise RuntimeError(job.error)
    return job.rows


@podium.pipeline("batch-scores")
def scores(model: str = "churn/1") -> int:
    return score(model)


def test_a_step_scores_a_table(platform: Platform, scored: Scored) -> None:
    run = platform.pipelines.run(scores)
    assert run.status == "succeeded", run.error
    assert run.output == 3_000
    (job,) = platform.batch.jobs()
    assert job.rows == 3_000 and job.status == "succeeded"
