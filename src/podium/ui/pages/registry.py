"""The model registry: models, a model's versions, stages, lineage and its transition
requests, which those allowed approve or reject here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from podium.access.roles import Role
from podium.errors import InvalidInputError
from podium.registry.policy import may_approve
from podium.registry.types import ModelPolicy, TransitionRequest
from podium.ui import charts
from podium.ui.guard import Viewer
from podium.ui.pages.common import run_form, viewer_of
from podium.ui.rendering import page

__all__ = ["decisions", "routes"]

_MAX_COMMENT = 2000


def decisions(
    viewer: Viewer, requests: Sequence[TransitionRequest], policies: Mapping[str, ModelPolicy]
) -> dict[str, list[str]]:
    """Which buttons each pending request shows the viewer: ``approve`` for an approver
    under the model's policy other than the requester, ``reject`` for an approver or the
    requester (withdrawing). The service decides again on the POST."""
    actor, role = viewer.principal.actor, viewer.principal.role
    shown: dict[str, list[str]] = {}
    for req in requests:
        if req.status != "pending" or not viewer.may(Role.WRITER):
            continue
        approver = may_approve(policies[req.name].for_stage(req.to_stage), actor, role)
        mine = req.requested_by == actor
        shown[req.id] = [a for a, ok in (("approve", approver and not mine),
                                          ("reject", approver or mine)) if ok]  # fmt: skip
    return shown


def models(request: Request) -> Response:
    viewer = viewer_of(request)
    registry = viewer.platform.registry
    found = registry.list_models()
    pending = registry.list_requests(status="pending")
    return page(
        request,
        viewer,
        "models.html",
        models=found,
        pending=pending,
        decisions=decisions(viewer, pending, {m.name: m.policy for m in found}),
    )


def model(request: Request) -> Response:
    viewer = viewer_of(request)
    registry = viewer.platform.registry
    name = request.path_params["name"]
    found = registry.get_model(name)
    versions = registry.list_versions(name)
    lineage_svg = None
    if versions:
        lineage = registry.lineage(f"{name}/{versions[-1].version}", depth=3)
        lineage_svg = charts.graph(
            [(n.id, n.kind, n.label) for n in lineage.nodes],
            [(e.source, e.target, e.kind) for e in lineage.edges],
            title=f"lineage of {name}/{versions[-1].version}",
            highlight=lineage.root,
        )
    requests = registry.list_requests(name)
    return page(
        request,
        viewer,
        "model.html",
        model=found,
        versions=sorted(versions, key=lambda v: v.version, reverse=True),
        requests=requests,
        lineage_svg=lineage_svg,
        decisions=decisions(viewer, requests, {name: found.policy}),
    )


async def approve(request: Request) -> Response:
    return await _decide(request, "approve")


async def reject(request: Request) -> Response:
    return await _decide(request, "reject")


async def _decide(request: Request, decision: str) -> Response:
    request_id = request.path_params["request_id"]

    def act(viewer: Viewer, form: dict[str, str]) -> str:
        comment = form.get("comment", "")
        if len(comment) > _MAX_COMMENT:
            raise InvalidInputError(
                f"a comment is at most {_MAX_COMMENT} characters; got {len(comment)} instead",
                field="comment",
                remedy="shorten the comment",
            )
        registry = viewer.platform.registry
        decide = registry.approve if decision == "approve" else registry.reject
        decided = decide(request_id, comment=comment)
        return f"/ui/models/{quote(decided.name, safe='')}"

    # The API's role for a decision; the model's policy may ask for more (the service says).
    return await run_form(request, role=Role.WRITER, action=f"registry.{decision}", act=act)


routes = [
    Route("/ui/models", models, name="models"),
    Route("/ui/models/{name}", model, name="model"),
    Route("/ui/requests/{request_id}/approve", approve, methods=["POST"], name="approve"),
    Route("/ui/requests/{request_id}/reject", reject, methods=["POST"], name="reject"),
]
