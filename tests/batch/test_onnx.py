"""An ONNX version (the registry's conversion of a scikit-learn one) scores on onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest

from podium.platform import Platform
from podium.registry.optimization import optimize_version
from tests.batch.conftest import Scored

pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_onnx_version_scores_like_its_source(platform: Platform, scored: Scored) -> None:
    sample = scored.frame[["tenure", "spend"]][:200]
    onnx, _ = optimize_version(platform.registry, scored.ref, sample=sample)
    assert onnx.flavor == "onnx"
    job = platform.batch.predict(
        onnx.ref, source="curated.customers", output="scores.onnx", key="customer_id"
    )
    assert job.status == "succeeded", job.error
    out = platform.data.read("scores.onnx").to_pandas().sort_values("customer_id")
    features = scored.frame[["tenure", "spend"]].to_numpy()
    agree = np.mean(out["prediction"].to_numpy() == scored.model.predict(features))
    assert agree > 0.99
    np.testing.assert_allclose(
        out["probability"], scored.model.predict_proba(features)[:, 1], atol=1e-4
    )
    assert set(out["model_version"]) == {onnx.ref}
