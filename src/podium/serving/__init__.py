"""Serving: deployments, their rollouts, and the path a prediction takes.

The control plane stores deployments (``p.deployments``, the interface of
:mod:`.protocol`) and moves their traffic: canary, shadow, blue-green, with rollouts that
follow the registry's approvals. The request path routes each request to a version,
checks it against the model's signature, and answers through the response cache, the
batcher and the fallback chain with its circuit breakers. The HTTP layer serves it
(``/v1/predictions`` and the Open Inference Protocol v2), and every answer goes to the
inference log, or to the spool in a ``podium serve`` replica.
"""
