"""What every page does first: find the caller, and for a form, check it and act."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from podium.access.roles import Role
from podium.ui.guard import Guard, Viewer

__all__ = ["guard_of", "run_form", "viewer_of"]

# Form fields are short (a comment, a key): a form this large is not one of ours.
_MAX_FORM_BYTES = 64 * 1024


def guard_of(request: Request) -> Guard:
    """The guard the UI app was built with."""
    guard: Guard = request.app.state.guard
    return guard


def viewer_of(request: Request) -> Viewer:
    """The logged-in caller (kept on the request for the error page); see Guard.viewer."""
    viewer = guard_of(request).viewer(request)
    request.state.viewer = viewer
    return viewer


async def run_form(
    request: Request,
    *,
    role: Role,
    action: str,
    act: Callable[[Viewer, dict[str, str]], str],
) -> Response:
    """Handle a POSTed form: session, CSRF token, ``role``, then ``act``, which returns
    where to go next (a 303 redirect, so reloading the page does not post again)."""
    guard = guard_of(request)
    viewer = await run_in_threadpool(viewer_of, request)
    async with request.form(max_files=0, max_fields=50, max_part_size=_MAX_FORM_BYTES) as form:
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
    guard.check_form(viewer, fields)

    def audited() -> str:
        with guard.action(request, viewer, role, action):
            return act(viewer, fields)

    return RedirectResponse(await run_in_threadpool(audited), status_code=303)
