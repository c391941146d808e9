"""The server's event subscriber: registry events move deployments, deployment events
reload only what this process serves, and neither builds a runtime for a project the
process does not serve."""

from __future__ import annotations

from podium.config import Settings
from podium.events.dispatcher import EventDispatcher
from podium.platform import Installation, Platform
from podium.serving.control.events import ServingEvents


def test_events_of_a_project_this_process_does_not_serve_build_no_runtime(
    churn_models: Platform, settings: Settings
) -> None:
    churn_models.registry.set_alias("churn", "champion", 1)
    churn_models.deployments.create("churn", model="churn@champion")
    server = Installation(settings)  # another process on the same database
    try:
        dispatcher = EventDispatcher(server.db)
        serving = ServingEvents(server.loaded_runtime, server.serving_deployments)
        dispatcher.subscribe(serving)
        churn_models.registry.set_alias("churn", "champion", 2)
        while dispatcher.dispatch_once():
            pass

        assert churn_models.deployments.get("churn").traffic.stable == 2  # followed
        assert server.loaded_runtime(churn_models.project) is None  # nothing built
        dispatcher.stop(timeout=5)
    finally:
        server.close()
