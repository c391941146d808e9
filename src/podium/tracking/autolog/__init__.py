"""Autologging: ``podium.autolog()`` records every fit without a line of tracking code.

::

    import podium
    p = podium.connect()
    podium.autolog(p, experiment="churn", register_best="churn-model")
    GridSearchCV(LogisticRegression(), {"C": [0.1, 1, 10]}).fit(X, y)
    podium.autolog(disable=True)

What a fit records (:mod:`.estimators`, :mod:`.search`, :mod:`.boosting`): params,
training metrics, per-iteration metrics of boosted models, the lake table versions the
training frame was read from (:mod:`.sources`), and the fitted model, once per fit. A
search is a parent run with one child per candidate. Where a fit logs (:mod:`.target`):
the ``with p.tracking.start_run(...)`` block open in the thread, else the pipeline step's
run, else a run of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.errors import InvalidInputError
from podium.tracking.autolog import boosting, runs, scikit_learn, sources, workers
from podium.tracking.autolog.patches import restore_all
from podium.tracking.autolog.state import AutologSettings, clear, configure, current
from podium.tracking.autolog.target import AutologWarning

if TYPE_CHECKING:
    from podium.platform import Platform

__all__ = ["AutologSettings", "AutologWarning", "autolog", "is_enabled"]


def _connect() -> Platform:
    # The composition root, reached only when the caller gave no platform: settings are
    # read here, at the edge, as podium.connect() does for any script.
    from podium.connection import connect

    return connect()


def autolog(
    platform: Platform | None = None,
    *,
    experiment: str = "default",
    disable: bool = False,
    log_models: bool = True,
    log_inputs: bool = True,
    log_training_metrics: bool = True,
    register_best: str | None = None,
) -> None:
    """Record every scikit-learn, XGBoost and LightGBM fit as a tracked run.

    ``platform`` is where runs go (default: ``podium.connect()``, on the first fit);
    ``experiment`` names the experiment of the runs autolog starts itself. A fit inside a
    ``with p.tracking.start_run(...)`` block, or inside a pipeline step, logs to that run
    instead. ``log_models``, ``log_inputs`` and ``log_training_metrics`` switch off the
    model file, the input table versions and the training scores. ``register_best="name"``
    registers a search's best model as the next version of ``name``. Calling it again
    replaces these settings; ``disable=True`` stops all logging and puts the libraries'
    methods back. Whatever autolog fails to record is a :class:`AutologWarning`, never an
    error of the fit.
    """
    if disable:
        clear()
        restore_all()
        return
    if not isinstance(experiment, str) or not experiment.strip():
        raise InvalidInputError(
            f"the 'experiment' parameter of autolog must be a non-empty string; "
            f"got {experiment!r} instead",
            field="experiment",
            remedy="pass the experiment name runs should go to, e.g. experiment='churn'",
        )
    if register_best is not None and (not isinstance(register_best, str) or not register_best):
        raise InvalidInputError(
            f"the 'register_best' parameter of autolog must be a model name; "
            f"got {register_best!r} instead",
            field="register_best",
            remedy="pass the registered model name, e.g. register_best='churn-model'",
        )
    configure(
        AutologSettings(
            connect=_connect if platform is None else (lambda: platform),
            experiment=experiment,
            log_models=log_models,
            log_inputs=log_inputs,
            log_training_metrics=log_training_metrics,
            register_best=register_best,
        )
    )
    scikit_learn.install()
    boosting.install()
    sources.install()
    runs.install()
    workers.install()


def is_enabled() -> bool:
    """Whether autolog is on."""
    return current() is not None
