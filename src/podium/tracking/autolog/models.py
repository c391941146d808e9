"""The fitted model as run files: ``model/`` holds the model and a description of it.

scikit-learn estimators and pipelines are saved by the registry's flavor (skops, no
pickle); XGBoost and LightGBM boosters in their own formats (JSON, text), which load
without unpickling anything. ``model/model.json`` names the flavor, the class and the
file, so the run shows what was fitted and the model can be registered from it.
"""

from __future__ import annotations

import json
from typing import Any

from podium.errors import InvalidInputError
from podium.registry.flavors import flavor_for
from podium.tracking.autolog.target import FitRun

__all__ = ["MODEL_DIR", "log_model", "model_files"]

MODEL_DIR = "model"


def _native(model: Any) -> tuple[str, str, bytes] | None:
    """``(flavor, file name, bytes)`` for a booster, saved in its library's format."""
    module = type(model).__module__.split(".")[0]
    if module == "xgboost":
        booster = model.get_booster() if hasattr(model, "get_booster") else model
        return "xgboost", "model.xgb.json", bytes(booster.save_raw(raw_format="json"))
    if module == "lightgbm":
        booster = getattr(model, "booster_", model)
        return "lightgbm", "model.lgb.txt", str(booster.model_to_string()).encode()
    return None


def model_files(model: Any) -> dict[str, bytes]:
    """The files describing ``model``, by path under the run."""
    native = _native(model)
    if native is not None:
        flavor, name, data = native
    else:
        chosen = flavor_for(model)
        flavor, name, data = chosen.name, f"model.{chosen.name}", chosen.save(model)
    cls = type(model)
    meta = {"flavor": flavor, "class": f"{cls.__module__}.{cls.__qualname__}", "file": name}
    return {
        f"{MODEL_DIR}/{name}": data,
        f"{MODEL_DIR}/model.json": json.dumps(meta, indent=2).encode(),
    }


def log_model(run: FitRun, model: Any) -> None:
    """Store ``model`` in ``run`` (a warning, not an error, when it cannot be saved)."""
    try:
        files = model_files(model)
    except InvalidInputError as exc:
        run.set_tags({"podium.autolog.model_error": str(exc)[:500]})
        return
    for path, data in files.items():
        run.put_artifact(path, data)
