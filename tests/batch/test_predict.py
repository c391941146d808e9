"""``p.batch.predict`` embedded: the output is what the model predicts, tracked, with lineage."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from podium.errors import InvalidInputError, NotFoundError
from podium.platform import Platform
from tests.batch.conftest import Scored, churn_frame, register_churn_model


def test_output_equals_model_predict_on_the_same_rows(platform: Platform, scored: Scored) -> None:
    seen: list[tuple[int, int]] = []
    job = platform.batch.predict(
        scored.ref,
        source="curated.customers",
        output="scores.churn",
        key="customer_id",
        batch_size=256,
        part_rows=1_000,
        on_progress=lambda rows, total: seen.append((rows, total)),
    )
    assert job.status == "succeeded", job.error
    assert (job.rows, job.rows_total, job.parts, job.parts_done) == (3_000, 3_000, 3, 3)
    assert job.source == "curated.customers@2"
    assert job.model_version == "churn/1"
    assert seen[-1] == (3_000, 3_000)
    out = platform.data.read("scores.churn", version=job.output_version).to_pandas()
    assert out.columns.tolist() == ["customer_id", "prediction", "probability", "model_version"]
    out = out.sort_values("customer_id").reset_index(drop=True)
    features = scored.frame[["tenure", "spend"]].to_numpy()
    np.testing.assert_array_equal(out["customer_id"], scored.frame["customer_id"])
    np.testing.assert_array_equal(out["prediction"], scored.model.predict(features))
    np.testing.assert_allclose(out["probability"], scored.model.predict_proba(features)[:, 1])
    assert set(out["model_version"]) == {"churn/1"}


def test_rows_without_a_key_get_their_stable_number(platform: Platform, scored: Scored) -> None:
    first = platform.batch.predict(scored.ref, source="curated.customers@1", output="scores.a")
    second = platform.batch.predict(
        scored.ref, source="curated.customers@1", output="scores.b", part_rows=1, batch_size=7
    )
    assert first.rows == second.rows == 2_000
    a = platform.data.read("scores.a").sort_by("row_number")
    b = platform.data.read("scores.b").sort_by("row_number")
    assert a.column("row_number").to_pylist() == list(range(2_000))
    assert a.equals(b)


def test_a_job_is_a_tracked_run_with_lineage(platform: Platform, scored: Scored) -> None:
    job = platform.batch.predict(scored.ref, source="curated.customers", output="scores.churn")
    run = platform.tracking.get_run(job.id)
    assert run.params["model_version"] == "churn/1"
    assert run.params["source"] == "curated.customers@2"
    assert run.params["output"] == "scores.churn"
    assert run.metrics["rows"] == 3_000
    assert run.metrics["rows_per_second"] > 0
    assert run.status == "FINISHED"
    graph = platform.catalog.lineage(f"table:scores.churn@{job.output_version}")
    edges = {(e.source, e.target, e.kind) for e in graph.edges}
    assert ("table:curated.customers@2", "model:churn/1", "scored_by") in edges
    assert ("model:churn/1", f"table:scores.churn@{job.output_version}", "scored_into") in edges
    assert [j.id for j in platform.batch.jobs()] == [job.id]
    assert platform.batch.get(job.id) == job


def test_a_second_job_appends_to_the_same_output(platform: Platform, scored: Scored) -> None:
    platform.batch.predict(scored.ref, source="curated.customers@0", output="scores.churn")
    job = platform.batch.predict(scored.ref, source="curated.customers@0", output="scores.churn")
    assert platform.data.read("scores.churn", version=job.output_version).num_rows == 2_000


@pytest.mark.parametrize(
    ("model", "source", "output", "error", "field"),
    [
        ("nope/1", "curated.customers", "scores.x", NotFoundError, "model"),
        ("nope", "curated.customers", "scores.x", NotFoundError, "model"),
        ("churn/1", "curated.missing", "scores.x", NotFoundError, "source"),
        ("churn/1", "curated.customers@9", "scores.x", NotFoundError, "source"),
        ("churn/1", "curated.customers", "curated.customers", InvalidInputError, "output"),
        ("churn/1", "raw.no_spend", "scores.x", InvalidInputError, "source"),
        ("churn/1", "curated.customers", "scores.x@1", InvalidInputError, "output"),
        ("churn/1", "not a table", "scores.x", InvalidInputError, "source"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(
    platform: Platform,
    scored: Scored,
    model: str,
    source: str,
    output: str,
    error: type[Exception],
    field: str,
) -> None:
    platform.data.write("raw.no_spend", pa.table({"tenure": [1.0, 2.0]}))
    with pytest.raises(error) as raised:
        platform.batch.predict(model, source=source, output=output)
    assert getattr(raised.value, "field", None) in (field, "ref", "name")
    assert getattr(raised.value, "remedy", None) or isinstance(raised.value, NotFoundError)
    assert platform.batch.jobs() == []
    assert "scores.x" not in platform.data.tables()


def test_an_output_with_other_columns_and_bad_options_are_refused(
    platform: Platform, scored: Scored
) -> None:
    platform.data.write("scores.other", pa.table({"x": [1]}))
    with pytest.raises(InvalidInputError, match="exists with the columns"):
        platform.batch.predict(scored.ref, source="curated.customers", output="scores.other")
    with pytest.raises(InvalidInputError, match="runner"):
        platform.batch.predict(scored.ref, source="curated.customers", output="s.x", runner="k8s")
    with pytest.raises(InvalidInputError, match="key"):
        platform.batch.predict(scored.ref, source="curated.customers", output="s.x", key="nope")
    with pytest.raises(InvalidInputError, match="part_rows"):
        platform.batch.predict(scored.ref, source="curated.customers", output="s.x", part_rows=0)
    assert platform.batch.jobs() == []


def test_a_job_whose_scoring_fails_is_failed_with_its_parts_kept(platform: Platform) -> None:
    frame = churn_frame(3_000)
    register_churn_model(platform, frame)
    broken = frame.astype({"spend": "float64"})
    broken.loc[2_500, "spend"] = None  # a null the model cannot score, past the first rows
    for start in range(0, 3_000, 1_000):
        platform.data.write("curated.customers", broken[start : start + 1_000])
    job = platform.batch.predict(
        "churn/1", source="curated.customers", output="scores.churn", part_rows=1_000
    )
    assert job.status == "failed"
    assert job.error is not None and "'spend'" in job.error and "null" in job.error
    assert job.rows < 3_000 and job.rows % 1_000 == 0  # whole parts only
    assert platform.data.read("scores.churn").num_rows == job.rows
    assert platform.tracking.get_run(job.id).status == "FAILED"
