"""The quickstart: the platform's whole loop on synthetic churn data, in one call.

``podium quickstart`` runs :func:`podium.quickstart.run.run_quickstart`: it writes a
synthetic customer-churn data set into the lake table ``raw.customers`` (:mod:`.data`),
derives the features as the view ``curated.churn_features`` and a point-in-time training
set from the feature store (:mod:`.features`), trains a small grid of models with every
run tracked in the experiment ``churn`` (:mod:`.training`), registers the best one as
``customer-churn``, promoted with a second identity's approval and optimized to ONNX
(:mod:`.registry`), serves it with a canary (:mod:`.serving`), and sends it drifted
traffic with delayed labels to show what monitoring makes of it (:mod:`.monitoring`).
Where it prints is the caller's (:class:`~podium.quickstart.show.Show`).

The names below are the quickstart's objects; the README and the command's hints use
them. This package imports nothing heavy: pandas and scikit-learn load with
:mod:`.run`, when a quickstart actually runs.
"""

__all__ = ["EXPERIMENT", "FEATURES_TABLE", "MODEL", "MODEL_ALIAS", "TABLE"]

EXPERIMENT = "churn"
TABLE = "raw.customers"
FEATURES_TABLE = "curated.churn_features"
MODEL = "customer-churn"
MODEL_ALIAS = "customer-churn-v2"
"""Another name of the quickstart's deployment: the ``model_id`` the README's request sends."""
