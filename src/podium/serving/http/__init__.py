"""The prediction routes over HTTP, for ``podium up`` and ``podium serve`` alike.

:mod:`.app` serves ``/v1/predictions``, the Open Inference Protocol v2 routes
(:mod:`.oip`) and ``/metrics``; :mod:`.body` parses and writes their JSON bodies.
The deployment routes (``/v1/deployments``) live in :mod:`podium.api.routes.deployments`.
"""
