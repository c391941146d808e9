"""What a deployment that follows a stage or an alias may make stable.

A deployment created on ``customer-churn@production`` serves what the registry approved
for production, and only that. Making another version stable (promoting a canary or a
staged green version, switching blue-green, or a canary at 100% of the traffic) needs
the version to hold the stage, or the alias to name it:

- it does: the move goes ahead;
- it does not, and the ref is a stage: the registry transition is requested (or the
  pending request reused) and the move is refused with a
  :class:`~podium.errors.ConflictError` naming the request to approve. A policy that
  needs no approval applies the request at once, and the move goes ahead. Once an
  approver applies it, the deployment follows the stage by itself
  (:meth:`~podium.serving.control.deployments.Deployments.sync`), so nobody has to retry;
- it does not, and the ref is an alias: refused, naming the command that moves the alias.

A deployment pinned to a version (``customer-churn/2``) or following the newest version
is not governed. A rollback is never refused: it is the way out of a bad release, and
the deployment follows the stage again the next time the stage moves.
"""

from __future__ import annotations

from podium.errors import ConflictError
from podium.registry.protocol import Registry
from podium.registry.refs import ModelRef, parse_ref

__all__ = ["follows", "governing", "require_allowed"]


def follows(ref: str) -> bool:
    """Whether a deployment on ``ref`` follows it as the registry moves (``name@...``)."""
    return "@" in ref


def governing(ref: str) -> ModelRef | None:
    """The parsed ``ref`` when a stage or an alias governs what may become stable."""
    parsed = parse_ref(ref, field="model")
    return parsed if parsed.stage is not None or parsed.alias is not None else None


def require_allowed(
    registry: Registry, *, deployment: str, ref: str, version: int, action: str
) -> None:
    """Return when ``version`` may become the stable version of a deployment on ``ref``;
    otherwise request the stage transition (stages) and raise a :class:`ConflictError`.

    ``action`` names the move for messages (``"promote"``, ``"switch"``, ...).
    """
    parsed = governing(ref)
    if parsed is None:
        return
    name = parsed.name
    if parsed.alias is not None:
        named = registry.get_version(ref).version
        if named == version:
            return
        raise ConflictError(
            f"deployment {deployment!r} follows {ref}, which names version {named}: "
            f"{action} of version {version} is refused",
            field="version",
            remedy=f"point the alias at it with `podium models alias {name} {parsed.alias} "
            f"{version}`; the deployment then follows it",
            details={"version": version, "alias": parsed.alias},
        )
    stage = parsed.stage
    assert stage is not None
    if registry.get_version(f"{name}/{version}").stage == stage:
        return
    pending = next(
        (
            request
            for request in registry.list_requests(name, status="pending")
            if request.version == version and request.to_stage == stage
        ),
        None,
    )
    if pending is None:
        pending = registry.request_transition(
            name, version, stage, comment=f"{action} of deployment {deployment!r}"
        )
        if pending.status == "applied":
            return
    raise ConflictError(
        f"deployment {deployment!r} follows {ref}, and version {version} is not in stage "
        f"{stage}: {action} waits for the approval of its transition to {stage} "
        f"(request {pending.id}, {pending.status})",
        field="version",
        remedy=f"an approver other than {pending.requested_by} approves it with "
        f"`podium models approve {pending.id}`; the deployment then follows {ref} to "
        f"version {version}",
        details={"transition_request_id": pending.id, "version": version, "stage": stage},
    )
