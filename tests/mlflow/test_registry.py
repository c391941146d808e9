"""MLflow's registry calls on podium: models, versions from run files, tags, stages, search."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mlflow.conftest import MlflowTarget, mlflow


def test_registry_calls_edit_podium_models_and_versions(
    target: MlflowTarget, tmp_path: Path
) -> None:
    from mlflow.exceptions import MlflowException

    from mlflow import MlflowClient

    client = MlflowClient()
    with mlflow.start_run() as run:
        (tmp_path / "MLmodel").write_text("flavors: {}\n")
        mlflow.log_artifact(str(tmp_path / "MLmodel"), artifact_path="model")
    client.create_registered_model("fraud", tags={"team": "risk"}, description="v0")
    with pytest.raises(MlflowException) as caught:
        client.create_registered_model("fraud")
    assert caught.value.error_code == "RESOURCE_ALREADY_EXISTS"
    made = client.create_model_version("fraud", f"runs:/{run.info.run_id}/model", run.info.run_id)
    assert (made.version, made.status, made.current_stage) == ("1", "READY", "None")

    client.update_registered_model("fraud", description="scores card payments")
    client.set_model_version_tag("fraud", "1", "validated", "yes")
    client.update_model_version("fraud", "1", description="first cut")
    with pytest.warns(FutureWarning):  # MLflow deprecates stages; podium keeps them
        staged = client.transition_model_version_stage("fraud", "1", "Staging")
    assert staged.current_stage == "Staging"

    model = client.get_registered_model("fraud")
    assert (model.description, model.tags) == ("scores card payments", {"team": "risk"})
    assert [v.version for v in model.latest_versions] == ["1"]
    assert [m.name for m in client.search_registered_models("name LIKE 'fra%'")] == ["fraud"]
    found = client.search_model_versions(f"name = 'fraud' AND run_id = '{run.info.run_id}'")
    assert [(v.version, v.tags) for v in found] == [("1", {"validated": "yes"})]
    client.delete_model_version_tag("fraud", "1", "validated")

    p = target.platform()
    mv = p.registry.get_version("fraud/1")
    assert (mv.stage, mv.description, mv.tags.get("validated")) == ("staging", "first cut", None)
    assert p.registry.get_model("fraud").description == "scores card payments"
    downloaded = mlflow.artifacts.download_artifacts(
        "models:/fraud/1", dst_path=str(tmp_path / "d")
    )
    assert (Path(downloaded) / "MLmodel").read_text() == "flavors: {}\n"
