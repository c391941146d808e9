"""A training script written for MLflow logs to podium unchanged, and podium reads it back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from tests.mlflow.conftest import MlflowTarget, mlflow

X_EXAMPLE = [{"x0": 0.1, "x1": -0.2, "x2": 0.3}]


def training_script(workdir: Path) -> str:
    """What a user's MLflow script does; nothing in it knows about podium."""
    from mlflow import MlflowClient

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    mlflow.set_experiment("churn")
    with mlflow.start_run(run_name="lr-baseline") as run:
        mlflow.log_param("C", 0.5)
        mlflow.log_params({"penalty": "l2", "max_iter": 200})
        for step, loss in enumerate([0.9, 0.5, 0.3]):
            mlflow.log_metric("loss", loss, step=step)
        mlflow.log_metrics({"auc": 0.91, "f1": 0.8})
        mlflow.set_tag("team", "growth")
        (workdir / "report.txt").write_text("auc 0.91\n")
        mlflow.log_artifact(str(workdir / "report.txt"), artifact_path="reports")
        mlflow.log_dict({"features": ["a", "b", "c"]}, "config.json")
        model = LogisticRegression(C=0.5).fit(X, y)
        mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name="churn-mlflow",
            input_example=X[:3],
            pip_requirements=["scikit-learn"],
        )
    MlflowClient().set_registered_model_alias("churn-mlflow", "champion", "1")
    return str(run.info.run_id)


def test_a_training_script_logs_to_podium_and_reads_back(
    target: MlflowTarget, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    run_id = training_script(tmp_path)
    client = MlflowClient()

    # The MLflow client reads it all back ...
    got = client.get_run(run_id)
    assert got.info.status == "FINISHED"
    assert got.info.run_name == "lr-baseline"
    assert got.data.params == {"C": "0.5", "penalty": "l2", "max_iter": "200"}
    assert got.data.metrics == {"loss": 0.3, "auc": 0.91, "f1": 0.8}
    assert got.data.tags["team"] == "growth"
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.5), (2, 0.3)], history
    assert {f.path for f in client.list_artifacts(run_id)} >= {"reports", "config.json"}
    down = Path(client.download_artifacts(run_id, "reports/report.txt", str(tmp_path / "d")))
    assert down.read_text() == "auc 0.91\n"
    found = mlflow.search_runs(
        experiment_names=["churn"],
        filter_string="metrics.auc > 0.9 and params.C = '0.5'",
        order_by=["metrics.auc DESC"],
        output_format="list",
    )
    assert [r.info.run_id for r in found] == [run_id]
    assert (
        mlflow.search_runs(
            experiment_names=["churn"], filter_string="metrics.auc > 0.95", output_format="list"
        )
        == []
    )
    version = client.get_model_version_by_alias("churn-mlflow", "champion")
    assert (version.version, version.run_id) == ("1", run_id)
    loaded = mlflow.sklearn.load_model("models:/churn-mlflow@champion")  # on the client
    assert loaded.predict(np.zeros((1, 3))).shape == (1,)

    # ... and so does podium: the same run, the same registered version.
    p = target.platform()
    run = p.tracking.get_run(run_id)
    assert (run.experiment, run.name, run.status) == ("churn", "lr-baseline", "FINISHED")
    assert run.params["C"] == "0.5" and run.metrics["auc"] == 0.91
    assert p.tracking.read_artifact(run_id, "reports/report.txt") == b"auc 0.91\n"
    mv = p.registry.get_version("churn-mlflow@champion")
    assert (mv.version, mv.run_id, mv.flavor) == (1, run_id, "mlflow")
    with pytest.raises(ValueError, match=r"MLflow model"):
        p.registry.load("churn-mlflow/1")  # podium never unpickles an upload
    # The servable path: loaded on the client, registered again with a safe flavor.
    again = p.registry.register("churn-mlflow", loaded, run_id=run_id, input_example=X_EXAMPLE)
    assert (again.version, again.flavor) == (2, "sklearn")
    served = p.registry.load("churn-mlflow/2").predict(X_EXAMPLE)
    assert served.tolist() == loaded.predict(np.array([[0.1, -0.2, 0.3]])).tolist()


def test_runs_logged_with_podium_are_visible_to_mlflow(target: MlflowTarget) -> None:
    from mlflow import MlflowClient

    p = target.platform()
    with p.tracking.start_run("podium-side", params={"C": 2}, capture_env=False) as run:
        run.log_metrics({"auc": 0.77}, step=0)
    run_id = run.id
    p.tracking.end_run(run_id) if p.tracking.get_run(run_id).status == "RUNNING" else None
    got = MlflowClient().get_run(run_id)
    assert got.data.params == {"C": "2"} and got.data.metrics["auc"] == pytest.approx(0.77)
    experiment = mlflow.get_experiment_by_name("podium-side")
    assert experiment is not None and experiment.experiment_id == got.info.experiment_id


def test_runs_are_deleted_and_restored_and_tags_removed(target: MlflowTarget) -> None:
    from mlflow.entities import ViewType

    from mlflow import MlflowClient

    client = MlflowClient()
    experiment_id = client.create_experiment("lifecycle")
    kept = client.create_run(experiment_id, tags={"team": "a", "tmp": "x"}).info.run_id
    dropped = client.create_run(experiment_id).info.run_id
    client.delete_tag(kept, "tmp")
    client.delete_run(dropped)
    assert "tmp" not in client.get_run(kept).data.tags
    assert client.get_run(dropped).info.lifecycle_stage == "deleted"
    active = client.search_runs([experiment_id])
    assert [r.info.run_id for r in active] == [kept]
    deleted = client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [dropped]
    client.restore_run(dropped)
    assert len(client.search_runs([experiment_id])) == 2
