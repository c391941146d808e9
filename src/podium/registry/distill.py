"""Distillation: a small scikit-learn student trained on a registered teacher's predictions.

:func:`distill_version` is what ``podium models optimize NAME VERSION --distill
student=KIND`` runs. The teacher (any flavor that predicts: scikit-learn, XGBoost,
LightGBM, ONNX, torch, pyfunc) labels the sample rows; a student of the chosen kind is
fitted on most of them; the two are compared on the held-out rest (see
:mod:`podium.registry.holdout`), and the student is registered as the next version of the
teacher's model, ``derived_from`` it, only when they agree on at least ``threshold`` of
the held-out rows. Otherwise nothing is registered and the error gives the measured
agreement.

Students (classifier or regressor, following the teacher):

- ``tree``: one decision tree (``max_depth`` 8 unless given);
- ``linear``: standardized logistic regression, or ridge regression;
- ``small-gbm``: gradient boosting with 30 shallow trees (``max_depth`` 3). Not the
  histogram variant: its OpenMP threads made one-row predictions take seconds on a busy
  machine, where this one answers in well under a millisecond.

String columns are one-hot encoded (unknown values ignored); datetime columns are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

import numpy as np
import pandas as pd

from podium.errors import InvalidInputError
from podium.registry.conversion import Comparison, compare
from podium.registry.flavors import PodiumModel
from podium.registry.holdout import check_threshold, gate, split_sample
from podium.registry.protocol import Registry
from podium.registry.signature import Signature
from podium.registry.types import ModelVersion

__all__ = ["STUDENT_KINDS", "StudentKind", "StudentSpec", "distill_version", "parse_student"]

StudentKind = Literal["tree", "linear", "small-gbm"]
STUDENT_KINDS: tuple[str, ...] = get_args(StudentKind)
DISTILLED_TAG_PREFIX = "distilled-"
"""The ``optimized`` tag of a student: ``distilled-tree``, ``distilled-linear``, ..."""

_DEFAULT_DEPTH = {"tree": 8, "small-gbm": 3}
_GBM_TREES = 30
_REMEDY = (
    "try a larger student (small-gbm, or a deeper tree with student=tree,max_depth=12), "
    "a larger sample, or a lower --threshold if the difference is acceptable"
)


@dataclass(frozen=True)
class StudentSpec:
    """Which student to train: its kind and, for trees, an optional depth limit."""

    kind: StudentKind
    max_depth: int | None = None


def parse_student(spec: str) -> StudentSpec:
    """``student=tree`` (or ``student=small-gbm,max_depth=3``, or just ``linear``) parsed."""
    fields: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, _, value = part.partition("=")
        if not value:  # a bare kind
            key, value = "student", key
        fields[key.strip()] = value.strip()
    unknown = sorted(set(fields) - {"student", "max_depth"})
    kind = fields.get("student", "")
    if unknown or kind not in STUDENT_KINDS:
        raise InvalidInputError(
            f"the distill spec must look like student=tree|linear|small-gbm "
            f"(optionally ,max_depth=N); got {spec!r} instead",
            field="distill",
            remedy="pass --distill student=tree, student=linear or student=small-gbm",
        )
    depth = fields.get("max_depth")
    if depth is not None and (not depth.isdigit() or int(depth) < 1):
        raise InvalidInputError(
            f"max_depth must be a positive whole number; got {depth!r} instead",
            field="distill",
            remedy="pass e.g. --distill student=tree,max_depth=6",
        )
    return StudentSpec(cast(StudentKind, kind), None if depth is None else int(depth))


def distill_version(
    registry: Registry,
    ref: str,
    *,
    sample: pd.DataFrame,
    student: StudentSpec | str = "tree",
    labels: Sequence[Any] | np.ndarray[Any, Any] | pd.Series[Any] | None = None,
    threshold: float = 0.99,
) -> tuple[ModelVersion, Comparison]:
    """Register a ``student`` distilled from the version ``ref`` beside it.

    Returns the new version and how it compares with its teacher on the held-out part
    of ``sample`` (with ``labels``, when given, for the accuracy delta). Raises
    :class:`InvalidInputError` for a bad spec or sample, and (code
    ``agreement-too-low``) when the student agrees with the teacher on fewer than
    ``threshold`` of the held-out rows; nothing is registered then.
    """
    spec = parse_student(student) if isinstance(student, str) else student
    check_threshold(threshold)
    version = registry.get_version(ref)
    teacher = registry.load(version.ref)
    frame = teacher.signature.validate(sample)
    split = split_sample(frame, labels, purpose="distillation")
    targets = np.asarray(teacher.predict(split.fit))
    if targets.ndim != 1:
        raise InvalidInputError(
            f"distillation needs one prediction per row; {version.ref} returns an array "
            f"shaped {targets.shape}",
            field="ref",
            remedy="distill a classifier or a single-output regressor",
        )
    classify = teacher.classes is not None or targets.dtype.kind not in "fc"
    if classify and len(np.unique(targets)) < 2:
        raise InvalidInputError(
            f"{version.ref} predicts one class only on the sample, so a student would "
            "learn nothing about the others",
            field="sample",
            remedy="pass a sample table on which the teacher predicts several classes",
        )
    fitted = build_student(spec, teacher.signature, classify=classify).fit(split.fit, targets)
    candidate = PodiumModel(fitted, flavor="sklearn", signature=teacher.signature)
    comparison = compare(teacher, candidate, split.held_out, y=split.held_out_labels)
    gate(comparison, threshold, remedy=_REMEDY)
    registered = registry.register(
        version.name,
        fitted,
        signature=teacher.signature,
        description=f"{version.ref} distilled into a {spec.kind} student "
        f"({type(_final_step(fitted)).__name__})",
        tags={"optimized": DISTILLED_TAG_PREFIX + spec.kind},
        derived_from=version.ref,
    )
    return registered, comparison


def build_student(spec: StudentSpec, signature: Signature, *, classify: bool) -> Any:
    """An unfitted scikit-learn student for ``signature``'s columns."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    dated = [spec_.name for spec_ in signature.inputs if spec_.type == "datetime"]
    if dated:
        raise InvalidInputError(
            f"a distilled student cannot read the datetime column '{dated[0]}'",
            field="signature",
            remedy="derive numeric features (age, day of week) from it before training",
        )
    depth = spec.max_depth or _DEFAULT_DEPTH.get(spec.kind)
    estimator: Any
    if spec.kind == "tree":
        tree = DecisionTreeClassifier if classify else DecisionTreeRegressor
        estimator = tree(max_depth=depth, random_state=0)
    elif spec.kind == "linear":
        estimator = LogisticRegression(max_iter=1000) if classify else Ridge()
    else:
        gbm = GradientBoostingClassifier if classify else GradientBoostingRegressor
        estimator = gbm(n_estimators=_GBM_TREES, max_depth=depth, random_state=0)
    numeric = [c.name for c in signature.inputs if c.type != "string"]
    strings = [c.name for c in signature.inputs if c.type == "string"]
    scale = spec.kind == "linear"
    if not strings:
        return make_pipeline(StandardScaler(), estimator) if scale else estimator
    columns = ColumnTransformer(
        [
            ("numeric", StandardScaler() if scale else "passthrough", numeric),
            ("strings", OneHotEncoder(handle_unknown="ignore", sparse_output=False), strings),
        ]
    )
    return make_pipeline(columns, estimator)


def _final_step(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    return model if steps is None else steps[-1][1]
