"""How a deployment's traffic moves: step, promote, roll back, switch, as pure functions.

Each takes the deployment's name (for messages), its current :class:`Traffic` and the
caller's reason, and returns the new traffic with the sentence its history records;
a move that makes no sense now (promote with nothing to promote) is a
:class:`~podium.errors.ConflictError`. The Deployments service checks, before, that the
move is allowed (:mod:`podium.serving.control.governance`) and stores the result.
"""

from __future__ import annotations

from podium.errors import ConflictError, InvalidInputError
from podium.serving.control.spec import CanaryState, Traffic
from podium.store.base import utcnow

__all__ = [
    "need_canary",
    "promoted",
    "promotion_target",
    "rolled_back",
    "stepped",
    "stepped_weight",
    "switched",
]

Moved = tuple[Traffic, str]


def need_canary(name: str, traffic: Traffic) -> CanaryState:
    """The running canary of ``name``; a conflict when there is none."""
    if traffic.canary is None:
        raise ConflictError(
            f"deployment {name!r} has no canary in progress",
            remedy="start one with canary NAME VERSION",
        )
    return traffic.canary


def stepped_weight(canary: CanaryState, weight: float | None) -> float:
    """``weight``, or the next step of the canary's schedule (100% after the last)."""
    if weight is not None:
        return weight
    return next((s for s in canary.steps if s > canary.weight + 1e-9), 1.0)


def stepped(name: str, traffic: Traffic, weight: float | None, reason: str) -> Moved:
    """The canary at ``weight``, or at the next step of its schedule (100% after the last)."""
    canary = need_canary(name, traffic)
    new = stepped_weight(canary, weight)
    if not 0 <= new <= 1:
        raise InvalidInputError(
            f"a canary weight must be between 0 and 1; got {new} instead",
            field="weight",
            remedy="pass e.g. 0.25 for a quarter of the traffic",
        )
    moved = canary.model_copy(update={"weight": new, "step_started_at": utcnow()})
    note = reason or f"canary version {canary.version} at {new:.0%}"
    return traffic.model_copy(update={"canary": moved}), note


def promotion_target(name: str, traffic: Traffic) -> int:
    """The version a promote makes stable: the canary's, else the staged green one."""
    if traffic.canary is not None:
        return traffic.canary.version
    if traffic.green is not None:
        return traffic.green
    raise ConflictError(
        f"deployment {name!r} has no canary or staged version to promote",
        remedy="start one with canary NAME VERSION or stage NAME VERSION",
    )


def promoted(name: str, traffic: Traffic, reason: str) -> Moved:
    """The canary (or the staged green) version stable, the old stable kept as blue."""
    new = promotion_target(name, traffic)
    shadow = None if traffic.shadow == new else traffic.shadow
    moved = Traffic(stable=new, blue=traffic.stable, shadow=shadow, ref_version=traffic.ref_version)
    return moved, reason or f"version {new} promoted; {traffic.stable} kept as blue"


def rolled_back(name: str, traffic: Traffic, reason: str) -> Moved:
    """Without the canary; with none, back to the blue version (the old stable is blue)."""
    if traffic.canary is not None:
        back = traffic.model_copy(update={"canary": None})
        return back, reason or f"canary version {traffic.canary.version} rolled back"
    if traffic.blue is None:
        raise ConflictError(
            f"deployment {name!r} has no canary and no previous version to roll back to",
            remedy="roll back after a promote or switch, or during a canary",
        )
    back = Traffic(
        stable=traffic.blue,
        blue=traffic.stable,
        shadow=traffic.shadow,
        ref_version=traffic.ref_version,  # a rollback is not undone by the next resync
    )
    return back, reason or f"back to version {traffic.blue} from {traffic.stable}"


def switched(name: str, traffic: Traffic) -> Moved:
    """Blue-green: green stable in one step, the old stable kept as blue."""
    if traffic.green is None:
        raise ConflictError(
            f"deployment {name!r} has no green version to switch to",
            remedy="stage one first: stage NAME VERSION",
        )
    moved = Traffic(stable=traffic.green, blue=traffic.stable, ref_version=traffic.ref_version)
    return moved, f"switched to version {traffic.green}; {traffic.stable} is blue"
