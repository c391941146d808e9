"""Finding a pipeline by ``module:qualname``, the way a run records its definition.

A resume, a server asked over HTTP, and ``podium pipelines run`` find the pipeline
object from that string: first among the pipelines defined in this process (so one in
``__main__`` or a notebook resumes in the same process, and the newest definition wins),
then by importing the module. Only a :class:`~podium.pipelines.definitions.Pipeline`
is accepted, so a target can never name an arbitrary function to call.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from podium.errors import InvalidInputError, NotFoundError
from podium.pipelines.definitions import Pipeline, defined_pipeline

__all__ = ["check_target", "resolve_target"]

_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def check_target(target: str) -> str:
    """``target`` if it has the shape ``package.module:name``, else InvalidInputError."""
    if not isinstance(target, str) or not _TARGET.match(target):
        raise InvalidInputError(
            f"a pipeline is named as 'module:function', e.g. 'churn.pipelines:churn'; "
            f"got {target!r} instead",
            field="target",
            remedy="pass the module path and the name of the @podium.pipeline function",
        )
    return target


def resolve_target(target: str) -> Pipeline[..., Any]:
    """The pipeline at ``module:qualname``: defined in this process, or imported."""
    found = defined_pipeline(target)
    if found is not None:
        return found
    module_name, _, qualname = check_target(target).partition(":")
    try:
        found_object: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found_object = getattr(found_object, part)
    except (ImportError, AttributeError) as exc:
        raise NotFoundError(
            f"the pipeline {target!r} cannot be imported here: {exc}",
            remedy="define the pipeline in a module this process can import (on its "
            "sys.path), or resume it in the process that defined it",
        ) from None
    if not isinstance(found_object, Pipeline):
        raise InvalidInputError(
            f"{target!r} is a {type(found_object).__name__}, not a pipeline",
            field="target",
            remedy="name a function decorated with @podium.pipeline(...)",
        )
    return found_object
