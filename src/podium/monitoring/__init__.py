"""Monitoring of deployments (``p.monitoring``): drift, data quality, performance,
accuracy, fairness, and alerts.

Everything is computed from a window of the inference log (``monitoring.inference_log``)
and the feedback labels, against the reference of the model version that served it
(:mod:`.references`: a profile of its training data, its predictions on that data and the
data contract derived from it). :class:`~podium.monitoring.service.Monitoring` implements
the interface of :mod:`.protocol`; alert rules and alerts live in :mod:`.alerts`.
"""
