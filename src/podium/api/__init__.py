"""The REST API: one FastAPI router per area, auth, audit, problem+json errors.

:mod:`.app` builds the platform's app, which ``podium up`` runs (:mod:`.server`);
:mod:`.routes` holds the routers; :mod:`.replica_server` is the lean process of a
``podium serve`` replica. Nothing in podium but the command line imports from here.
"""
