"""The serving control plane: deployments stored, and their traffic moved between versions.

:class:`~podium.serving.control.deployments.Deployments` (``p.deployments``) creates and
changes deployments (:mod:`.spec`), moves their traffic by the rules of
:mod:`.transitions` (canary, shadow, blue-green; :mod:`.canary`, :mod:`.rollout`), keeps
a deployment on the version its registry stage names (:mod:`.governance`), and tells the
serving runtimes when one changed (:mod:`.events`).
"""
