"""The review queue: requests a deployment escalated to a human, answered here.

Every deployment's open reviews (the request's features, the default it was answered
with, why its models failed) with, for writers and admins, a form to give the true label;
the answer becomes monitoring feedback for the request (see
:mod:`podium.serving.control.reviews`). Readers see the queue without the forms, and the
service refuses their POST (403)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from podium.access.roles import Role
from podium.errors import InvalidInputError
from podium.serving.control.review_types import Label, Review
from podium.ui.guard import Viewer
from podium.ui.pages.common import run_form, viewer_of
from podium.ui.rendering import page

__all__ = ["parse_label", "routes"]

_MAX_LABEL = 256
_PER_DEPLOYMENT = 100


def parse_label(text: str) -> Label:
    """A label typed in the form: a whole number, a decimal number, else the text itself
    (the monitoring service then checks it is of the prediction's kind)."""
    text = text.strip()
    if not text or len(text) > _MAX_LABEL:
        raise InvalidInputError(
            f"a label is 1 to {_MAX_LABEL} characters; got {len(text)} instead",
            field="label",
            remedy="type the true outcome, e.g. 1 or 'churned'",
        )
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def reviews(request: Request) -> Response:
    viewer = viewer_of(request)
    api = viewer.platform.deployments
    queues: list[tuple[str, list[Review]]] = []
    for deployment in api.list():
        if deployment.spec.fallback.escalate:
            queues.append((deployment.name, api.reviews(deployment.name, limit=_PER_DEPLOYMENT)))
    return page(
        request,
        viewer,
        "reviews.html",
        queues=queues,
        may_answer=viewer.may(Role.WRITER),
        per_deployment=_PER_DEPLOYMENT,
    )


async def answer(request: Request) -> Response:
    name = request.path_params["name"]
    review_id = request.path_params["review_id"]

    def act(viewer: Viewer, form: dict[str, str]) -> str:
        label = parse_label(form.get("label", ""))
        viewer.platform.deployments.answer_review(name, review_id, label=label)
        return f"/ui/reviews#{quote(name, safe='')}"

    return await run_form(request, role=Role.WRITER, action="deployments.answer_review", act=act)


routes = [
    Route("/ui/reviews", reviews, name="reviews"),
    Route(
        "/ui/deployments/{name}/reviews/{review_id}/answer",
        answer,
        methods=["POST"],
        name="answer_review",
    ),
]
