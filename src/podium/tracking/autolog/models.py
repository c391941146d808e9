"""The fitted model as run files: ``model/`` holds the model and a description of it.

The bytes are what the registry's flavor for the model writes (:func:`flavor_for`):
scikit-learn through skops, XGBoost as its JSON, LightGBM as its text format in a JSON
envelope; none of them is a pickle. ``model/model.json`` names the flavor, the class and
the file, so the run shows what was fitted and the model can be registered from it.
"""

from __future__ import annotations

import json
from typing import Any

from podium.errors import InvalidInputError
from podium.registry.flavors import flavor_for
from podium.tracking.autolog.target import FitRun

__all__ = ["MODEL_DIR", "log_model", "model_files"]

MODEL_DIR = "model"


def model_files(model: Any) -> dict[str, bytes]:
    """The files describing ``model``, by path under the run."""
    flavor = flavor_for(model)
    name = f"model.{flavor.name}"
    data = flavor.save(model)
    cls = type(model)
    meta = {"flavor": flavor.name, "class": f"{cls.__module__}.{cls.__qualname__}", "file": name}
    return {
        f"{MODEL_DIR}/{name}": data,
        f"{MODEL_DIR}/model.json": json.dumps(meta, indent=2).encode(),
    }


def log_model(run: FitRun, model: Any) -> None:
    """Store ``model`` in ``run`` (a tag, not an error, when it cannot be saved)."""
    try:
        files = model_files(model)
    except InvalidInputError as exc:
        run.set_tags({"podium.autolog.model_error": str(exc)[:500]})
        return
    for path, data in files.items():
        run.put_artifact(path, data)
