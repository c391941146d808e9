"""The request path: what a prediction passes through between the HTTP layer and the model.

:class:`~podium.serving.requests.runtime.ServingRuntime` holds each deployment's loaded
versions (:mod:`.state`, :mod:`.loaded`), routes a request to one (:mod:`.router`),
checks its rows against the signature (:mod:`.validation`), adds online features
(:mod:`.online`), and answers through the response cache, the batcher and the fallback
chain with its circuit breakers; every answer is recorded (:mod:`.recording`) and counted
(:mod:`.metrics`).
"""
