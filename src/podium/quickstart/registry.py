"""The quickstart's registry step: register the best model, promote it, optimize it.

The best run's model becomes the next version of the quickstart's model
(``customer-churn``); a promotion to production is requested as the local user and
approved by a second identity, :data:`APPROVER` (the default policy refuses
self-approval); then the version is converted to ONNX, compared with its source on the
held-out rows, and registered beside it, derived from it.
"""

from __future__ import annotations

from typing import Any

from podium.access.roles import Role
from podium.platform import Installation, Platform
from podium.quickstart.show import Show
from podium.quickstart.training import Dataset, as_frame
from podium.registry.optimization import optimize_version

__all__ = ["APPROVER", "register_best"]

APPROVER = "local:quickstart-approver"
_EXAMPLE_ROWS = 5


def register_best(
    show: Show,
    installation: Installation,
    platform: Platform,
    *,
    name: str,
    run_id: str,
    model: Any,
    data: Dataset,
) -> None:
    """Register ``model`` as ``name``, promote it (a second identity approves), optimize it."""
    out = show.console
    registry = platform.registry
    version = registry.register(
        name,
        model,
        run_id=run_id,
        input_example=as_frame(data.x_train[:_EXAMPLE_ROWS]),
        description="Churn classifier with the best held-out AUC of the podium quickstart",
    )
    out.print(f"[bold]4.[/] registered the best run's model as {version.ref}")

    request = registry.request_transition(
        name, version.version, "production", comment="best held-out AUC of the quickstart"
    )
    out.print(
        f"   requested {request.from_stage} → production as {request.requested_by} "
        f"(request {request.id}, {request.status})"
    )
    approver = installation.platform(platform.project, user=APPROVER, role=Role.ADMIN)
    decided = approver.registry.approve(request.id, comment="reviewed the quickstart ranking")
    promoted = registry.get_version(version.ref)
    out.print(
        f"   approved by {APPROVER}: request {decided.status}, "
        f"{promoted.ref} is in stage {promoted.stage}"
    )

    optimized, comparison = optimize_version(
        registry, version.ref, sample=as_frame(data.x_test), labels=data.y_test
    )
    out.print(
        f"   optimized to ONNX as {optimized.ref} (derived from {version.ref}): agrees on "
        f"{comparison.agreement:.1%} of {comparison.rows} held-out rows, "
        f"{comparison.size_bytes_candidate:,} bytes vs {comparison.size_bytes_source:,}, "
        f"{comparison.latency_single_ms_candidate:.2f} ms vs "
        f"{comparison.latency_single_ms_source:.2f} ms per row"
    )
