"""Distillation: a small student trained on a teacher's predictions passes the agreement
gate and is registered derived from it, or is refused with the measured agreement."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from podium.errors import InvalidInputError
from podium.platform import Installation, Platform
from podium.registry.distill import StudentSpec, parse_student
from podium.registry.optimization import distill_version
from tests.cli.assertions import Invoke, assert_one_error
from tests.cli.conftest import embedded, home, invoke  # noqa: F401 (fixtures)

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def churn(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    """Two numeric columns and a string one; churn mostly when spend outweighs tenure."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure": rng.uniform(0, 72, rows),
            "spend": rng.uniform(10, 120, rows),
            "plan": rng.choice(["basic", "pro"], rows),
        }
    )
    score = frame["spend"] / 120 - frame["tenure"] / 72 + 0.3 * (frame["plan"] == "pro")
    return frame, (score > 0.1).astype(np.int64).to_numpy()


def numeric(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(plan=(frame["plan"] == "pro").astype(np.int64))


@SQLITE
@pytest.mark.parametrize("kind", ["tree", "linear", "small-gbm"])
def test_a_student_of_each_kind_passes_the_gate_and_is_registered_derived(
    kind: str, platform: Platform
) -> None:
    frame, labels = churn(400)
    teacher = RandomForestClassifier(n_estimators=30, random_state=0).fit(numeric(frame), labels)
    platform.registry.register("churn", teacher, input_example=numeric(frame)[:5])

    student, comparison = distill_version(
        platform.registry,
        "churn/1",
        sample=numeric(frame),
        student=f"student={kind}",
        labels=labels,
        threshold=0.9,
    )

    assert student.ref == "churn/2" and student.derived_from == "churn/1"
    assert student.flavor == "sklearn" and student.tags == {"optimized": f"distilled-{kind}"}
    assert comparison.rows == 120  # the held-out 30% of 400
    assert 0.9 <= comparison.agreement <= 1.0
    if kind != "small-gbm":  # skops stores each of its trees with some overhead
        assert comparison.size_bytes_candidate < comparison.size_bytes_source
    loaded = platform.registry.load("churn/2")
    agreement = np.mean(loaded.predict(numeric(frame)) == teacher.predict(numeric(frame)))
    assert agreement >= 0.9
    assert loaded.predict_proba(numeric(frame)[:3]).shape == (3, 2)


def test_a_student_that_falls_short_is_refused_with_the_measured_figure(
    platform: Platform,
) -> None:
    frame, labels = churn(300, seed=1)
    teacher = RandomForestClassifier(n_estimators=20, random_state=0).fit(numeric(frame), labels)
    platform.registry.register("churn", teacher, input_example=numeric(frame)[:5])

    with pytest.raises(InvalidInputError) as caught:
        distill_version(
            platform.registry,
            "churn/1",
            sample=numeric(frame),
            student=StudentSpec("tree", max_depth=1),
            threshold=0.999,
        )

    error = caught.value
    assert error.code == "agreement-too-low" and error.field == "agreement"
    measured = re.search(r"agrees with the source on (\d+\.\d\d)% of 90 rows", error.message)
    assert measured is not None and float(measured.group(1)) < 99.9
    assert "at least 99.90% is required" in error.message
    assert error.remedy is not None and "larger student" in error.remedy
    assert [v.version for v in platform.registry.list_versions("churn")] == [1]


@SQLITE
@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_boosted_teachers_distill_into_a_tree(library: str, platform: Platform) -> None:
    module = pytest.importorskip(library)
    frame, labels = churn(400, seed=2)
    X = numeric(frame)
    if library == "xgboost":
        teacher = module.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1).fit(X, labels)
    else:
        teacher = module.LGBMClassifier(n_estimators=20, num_leaves=8, n_jobs=1, verbose=-1).fit(
            X, labels
        )
    platform.registry.register("boosted", teacher, input_example=X[:5])

    student, comparison = distill_version(
        platform.registry, "boosted/1", sample=X, student="student=small-gbm", threshold=0.8
    )

    assert student.derived_from == "boosted/1" and student.flavor == "sklearn"
    assert comparison.agreement >= 0.8 and comparison.accuracy_delta is None


@SQLITE
def test_string_columns_are_one_hot_encoded_for_the_student(platform: Platform) -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame, labels = churn(300, seed=3)
    teacher = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["plan"]), remainder="passthrough"),
        RandomForestClassifier(n_estimators=20, random_state=0),
    ).fit(frame, labels)
    platform.registry.register("churn", teacher, input_example=frame[:5])

    student, _ = distill_version(
        platform.registry, "churn/1", sample=frame, student="linear", threshold=0.85
    )

    loaded = platform.registry.load(student.ref)
    unseen = frame[:2].assign(plan=["enterprise", "basic"])  # unknown values are ignored
    assert loaded.predict(unseen).shape == (2,)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("student=tree", StudentSpec("tree")),
        ("linear", StudentSpec("linear")),
        ("student=small-gbm, max_depth=2", StudentSpec("small-gbm", 2)),
    ],
)
def test_specs_parse(spec: str, expected: StudentSpec) -> None:
    assert parse_student(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("student=forest", "student=tree|linear|small-gbm"),
        ("student=tree,depth=3", "student=tree|linear|small-gbm"),
        ("student=tree,max_depth=0", "max_depth must be a positive whole number; got '0'"),
    ],
)
def test_bad_specs_are_refused_with_the_shape_expected(spec: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)) as caught:
        parse_student(spec)
    assert caught.value.field == "distill" and caught.value.remedy


@SQLITE
def test_a_tiny_sample_or_a_single_class_is_refused(platform: Platform) -> None:
    frame, labels = churn(200, seed=4)
    teacher = RandomForestClassifier(n_estimators=5, random_state=0).fit(numeric(frame), labels)
    platform.registry.register("churn", teacher, input_example=numeric(frame)[:5])
    with pytest.raises(InvalidInputError, match="at least 20 rows; got 10 instead"):
        distill_version(platform.registry, "churn/1", sample=numeric(frame)[:10])
    one_class = numeric(frame)[labels == 0][:40]
    with pytest.raises(InvalidInputError, match="predicts one class only on the sample"):
        distill_version(platform.registry, "churn/1", sample=one_class)


def _register_forest(installation: Installation) -> None:
    """``churn/1``: a forest trained by a run that read ``raw.churn@0`` (target ``churned``)."""
    platform = installation.platform()
    frame, labels = churn(200, seed=5)
    written = platform.data.write("raw.churn", numeric(frame).assign(churned=labels))
    with platform.tracking.start_run("churn", tags={"target": "churned"}, capture_env=False) as run:
        run.log_input(written.ref)
    forest = RandomForestClassifier(n_estimators=40, random_state=0).fit(numeric(frame), labels)
    platform.registry.register("churn", forest, run_id=run.id, input_example=numeric(frame)[:5])


def test_cli_distills_with_the_side_by_side_report(
    invoke: Invoke,  # noqa: F811 (fixtures)
    embedded: Installation,  # noqa: F811
) -> None:
    _register_forest(embedded)

    result = invoke(
        "models", "optimize", "churn", "1", "--distill", "student=tree", "--threshold", "0.8"
    )

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "churn/2 vs churn/1 on 60 sample rows" in out
    for row in ("size", "latency, 1 row", "latency, 1,000 rows", "agreement", "accuracy delta"):
        assert re.search(rf"{re.escape(row)}\s+\S", out)
    assert "registered churn/2 (distilled-tree), derived from churn/1" in out
    assert embedded.platform().registry.get_version("churn/2").derived_from == "churn/1"

    refused = invoke(
        "models",
        "optimize",
        "churn",
        "1",
        "--distill",
        "student=tree,max_depth=1",
        "--threshold",
        "1.0",
    )
    assert refused.exit_code == 1
    assert re.match(
        r"error: the candidate agrees with the source on \d+\.\d\d% of 60 rows; at least "
        r"100\.00% is required",
        refused.stderr,
    )
    assert "Traceback" not in refused.output

    bad = invoke("models", "optimize", "churn", "1", "--distill", "student=tree", "--prune")
    assert_one_error(
        bad,
        "--distill, --prune and --quantize each make a different version; "
        "got --distill and --prune",
    )
