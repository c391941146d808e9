"""Optimizing a registered version: convert it to ONNX, compare, and register the result.

:func:`optimize_version` is what ``podium models optimize`` and the quickstart run: the
scikit-learn version ``ref`` is converted with :func:`~podium.registry.conversion.to_onnx`
(optionally quantized to int8), an XGBoost or LightGBM version with
:func:`~podium.registry.boosted_conversion.boosted_to_onnx` (onnxmltools), compared with
its source on a held-out sample, and registered as the next version of the same model,
``derived_from`` the source, only when the two agree on at least ``threshold`` of the
sample. The conversions live in :mod:`podium.registry.conversion` and
:mod:`podium.registry.boosted_conversion`; this module only wires it to a registry, embedded or
remote (any :class:`~podium.registry.protocol.Registry`).

Beside it, with the same agreement gate and the same :class:`Comparison`:
:func:`~podium.registry.distill.distill_version` (a small student trained on the
version's predictions) and :func:`~podium.registry.prune.prune_version` (a tree ensemble
without the trees it does not need).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from podium.errors import InvalidInputError, MissingDependencyError
from podium.registry.boosted_conversion import BOOSTED_FLAVORS, boosted_to_onnx
from podium.registry.conversion import Comparison, check_agreement, compare, to_onnx
from podium.registry.distill import StudentSpec, distill_version
from podium.registry.flavors import PodiumModel
from podium.registry.protocol import Registry
from podium.registry.prune import prune_version
from podium.registry.types import ModelVersion

__all__ = [
    "OPTIMIZED_TAG",
    "StudentSpec",
    "check_optimizable",
    "distill_version",
    "optimize_version",
    "prune_version",
]

OPTIMIZED_TAG = "optimized"
"""The tag an optimized version carries: ``onnx``, ``onnx-int8``, ``distilled-KIND`` or
``pruned``."""


def optimize_version(
    registry: Registry,
    ref: str,
    *,
    sample: pd.DataFrame,
    labels: Sequence[Any] | np.ndarray[Any, Any] | pd.Series[Any] | None = None,
    quantize: Literal["int8"] | None = None,
    threshold: float = 0.99,
) -> tuple[ModelVersion, Comparison]:
    """Register the ONNX conversion of the scikit-learn (or XGBoost, LightGBM) ``ref`` beside it.

    Returns the new version and how it compares with its source on ``sample`` (and
    ``labels``, when given, for the accuracy delta). Raises :class:`InvalidInputError`
    when the source is not a scikit-learn, XGBoost or LightGBM model (int8 quantization:
    scikit-learn only, tree ensembles have no weights it shrinks), or when the candidate
    agrees with it on fewer than ``threshold`` of the sample rows; nothing is registered then.
    """
    if not 0.0 < threshold <= 1.0:
        raise InvalidInputError(
            f"the threshold must be in (0, 1]; got {threshold!r} instead",
            field="threshold",
            remedy="pass a share of agreeing rows, e.g. 0.99",
        )
    version = check_optimizable(registry.get_version(ref))
    if quantize is not None and version.flavor in BOOSTED_FLAVORS:
        raise InvalidInputError(
            f"int8 quantization applies to scikit-learn versions; {version.ref} is a "
            f"{version.flavor!r} model, whose tree ensemble it would leave as it is",
            field="quantize",
            remedy="optimize it without --quantize",
        )
    source = registry.load(version.ref)
    if version.flavor in BOOSTED_FLAVORS:
        data = boosted_to_onnx(source.model, source.signature, flavor=version.flavor)
    else:
        data = to_onnx(source.model, source.signature, quantize=quantize)
    candidate = PodiumModel.from_bytes(
        data, flavor="onnx", signature=source.signature, classes=source.classes
    )
    comparison = compare(source, candidate, sample, y=labels)
    check_agreement(comparison, threshold)
    kind = "onnx-int8" if quantize == "int8" else "onnx"
    registered = registry.register(
        version.name,
        _model_proto(data),
        signature=source.signature,
        description=f"{version.ref} converted to ONNX"
        + (" with int8 dynamic quantization" if quantize else ""),
        tags={OPTIMIZED_TAG: kind},
        derived_from=version.ref,
    )
    return registered, comparison


def check_optimizable(version: ModelVersion) -> ModelVersion:
    """``version`` itself if it can be optimized (scikit-learn, XGBoost, LightGBM), else
    an error."""
    if version.flavor not in ("sklearn", *BOOSTED_FLAVORS):
        raise InvalidInputError(
            f"only scikit-learn, XGBoost and LightGBM versions can be optimized; "
            f"{version.ref} is a {version.flavor!r} model",
            field="ref",
            remedy="optimize the scikit-learn version it was derived from",
        )
    return version


def _model_proto(data: bytes) -> Any:
    """The graph as an ``onnx.ModelProto``, the object the onnx flavor saves."""
    try:
        import onnx
    except ImportError as exc:
        raise MissingDependencyError("onnx", extra="onnx") from exc
    return onnx.load_model_from_string(data)
