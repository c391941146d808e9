"""``podium batch``: predict shows the job, jobs and show list it, errors are one line."""

from __future__ import annotations

import json

from podium.platform import Installation
from tests.batch.conftest import churn_frame, register_churn_model
from tests.cli.assertions import Invoke, assert_one_error
from tests.cli.conftest import embedded, home, invoke  # noqa: F401 - shared CLI fixtures


def _arrange(embedded: Installation) -> None:  # noqa: F811
    platform = embedded.platform()
    frame = churn_frame(1_000)
    platform.data.write("curated.customers", frame)
    register_churn_model(platform, frame)


def test_predict_jobs_show_and_resume(invoke: Invoke, embedded: Installation) -> None:  # noqa: F811
    _arrange(embedded)
    done = invoke(
        "batch", "predict", "churn/1", "--source", "curated.customers", "--output", "scores.churn",
        "--key", "customer_id",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "succeeded" in done.stdout and "1,000/1,000" in done.stdout
    assert "curated.customers@0" in done.stdout and "scores.churn@1" in done.stdout

    listed = invoke("batch", "jobs", "--json")
    assert listed.exit_code == 0, listed.output
    (job,) = json.loads(listed.stdout)
    assert (job["status"], job["rows"], job["model_version"]) == ("succeeded", 1_000, "churn/1")

    table = invoke("batch", "jobs")
    assert table.exit_code == 0 and job["id"][:8] in table.stdout

    shown = invoke("batch", "show", job["id"][:8], "--json")
    assert json.loads(shown.stdout)["id"] == job["id"]

    again = invoke("batch", "resume", job["id"][:8])
    assert_one_error(again, f"batch job {job['id']!r} succeeded; there is nothing to resume")


def test_bad_input_is_one_line(invoke: Invoke, embedded: Installation) -> None:  # noqa: F811
    _arrange(embedded)
    missing = invoke(
        "batch", "predict", "churn/1", "--source", "curated.nope", "--output", "scores.churn"
    )
    assert_one_error(missing, "no table 'curated.nope' in this project's lake")
    same = invoke(
        "batch", "predict", "churn/1", "--source", "curated.customers", "--output",
        "curated.customers",
    )  # fmt: skip
    assert_one_error(
        same, "the output table must differ from the source; both are 'curated.customers'"
    )
    unknown = invoke("batch", "show", "abc")
    assert_one_error(unknown, "no batch job id starts with 'abc'")
