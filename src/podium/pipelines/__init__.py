"""Pipelines: steps and pipelines in plain Python, cached by code and data, run by runners.

Map: ``definitions`` (``@step``, ``@pipeline``, ``map``, tracing into nodes), ``plan``
(the checked graph, pinned lake tables), ``hashing`` (cache keys), ``outputs`` (step
outputs as blobs), ``runner`` (the runner interface) and ``local`` (threads within
this machine's resources), ``resources``, ``logs`` (per-step capture), ``execution``
(the cache and records around each step), ``records`` and ``tables`` (the metadata),
``targets`` (``module:qualname``), ``service`` (``p.pipelines``) and ``protocol``.
Hyperparameter tuning (``p.tune``) lives in ``tuning*`` and ``space``; nothing here
imports them, so running a pipeline never loads Optuna.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.lazy import lazy_exports

if TYPE_CHECKING:
    from podium.pipelines.definitions import Pipeline, Step, map, pipeline, step
    from podium.pipelines.plan import LakeTable
    from podium.pipelines.types import PipelineInfo, PipelineRun, StepRun

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Pipeline": "podium.pipelines.definitions",
        "Step": "podium.pipelines.definitions",
        "map": "podium.pipelines.definitions",
        "pipeline": "podium.pipelines.definitions",
        "step": "podium.pipelines.definitions",
        "LakeTable": "podium.pipelines.plan",
        "PipelineInfo": "podium.pipelines.types",
        "PipelineRun": "podium.pipelines.types",
        "StepRun": "podium.pipelines.types",
    },
)

__all__ = [
    "LakeTable",
    "Pipeline",
    "PipelineInfo",
    "PipelineRun",
    "Step",
    "StepRun",
    "map",
    "pipeline",
    "step",
]
