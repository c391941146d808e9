"""``p.batch`` both ways: the same job, the same answers, the same errors; and the
embedded service and the HTTP client define the protocol's methods alike."""

from __future__ import annotations

import numpy as np
import pytest

from podium.batch.protocol import Batch
from podium.batch.service import BatchService
from podium.client.batch import HttpBatch
from podium.errors import ConflictError, InvalidInputError, NotFoundError
from podium.platform import Platform
from tests.parity.assertions import fails
from tests.parity.conftest import Trained
from tests.parity.test_signatures import Area, mismatches, one_sided

AREA = Area(Batch, BatchService, HttpBatch)
EMBEDDED_ONLY = {"resume_in_background": "the API's resume; the client polls resume instead"}


@pytest.mark.parametrize("side", ["embedded", "remote"])
def test_both_sides_define_the_protocol_alike(side: str) -> None:
    assert mismatches(AREA, side) == {}
    assert one_sided(AREA, side, EMBEDDED_ONLY if side == "embedded" else {}) == set()


def test_predict_get_jobs_and_errors(platform: Platform, trained: Trained) -> None:
    frame = trained.frame.assign(customer_id=np.arange(len(trained.frame), dtype=np.int64))
    platform.data.write("curated.customers", frame)
    platform.registry.register("churn", trained.model, input_example=trained.frame[:5])
    seen: list[tuple[int, int]] = []
    job = platform.batch.predict(
        "churn/1",
        source="curated.customers@0",
        output="scores.churn",
        key="customer_id",
        on_progress=lambda rows, total: seen.append((rows, total)),
    )
    assert (job.status, job.rows, job.rows_total) == ("succeeded", 40, 40), job.error
    assert (job.model_version, job.source, job.output) == (
        "churn/1",
        "curated.customers@0",
        "scores.churn",
    )
    assert seen[-1] == (40, 40)
    out = platform.data.read("scores.churn", version=job.output_version).to_pandas()
    out = out.sort_values("customer_id")
    np.testing.assert_array_equal(out["prediction"], trained.model.predict(trained.frame))
    assert platform.batch.get(job.id) == job
    assert [found.id for found in platform.batch.jobs()] == [job.id]
    again = platform.batch.predict(
        "churn/1",
        source="curated.customers@0",
        output="scores.churn",
        key="customer_id",
        resume=True,
    )
    assert again.id != job.id  # nothing unfinished to resume: a new job
    with fails(ConflictError):
        platform.batch.resume(job.id)
    with fails(NotFoundError):
        platform.batch.get("0" * 32)
    with fails(NotFoundError):
        platform.batch.predict("churn/9", source="curated.customers", output="scores.x")
    with fails(NotFoundError):
        platform.batch.predict("churn/1", source="curated.customers@5", output="scores.x")
    with fails(InvalidInputError):
        platform.batch.predict("churn/1", source="curated.customers", output="curated.customers")
    with fails(InvalidInputError):
        platform.batch.jobs(limit=0)
