"""Approval policies: which stage moves are allowed, who may approve, and metric gates.

A gate is one comparison of a version's metric (copied from its run at registration)
with a number, written ``metrics.<key> <op> <number>`` with ``op`` one of ``>=``, ``>``,
``<=``, ``<``, ``==``, ``!=``; e.g. ``metrics.auc >= 0.85``. A version without the metric
fails the gate.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from podium.access.roles import Role
from podium.errors import ConflictError, InvalidInputError
from podium.registry.types import ModelPolicy, StagePolicy

__all__ = [
    "GATE_PATTERN",
    "Gate",
    "check_policy",
    "check_stage_move",
    "failed_gates",
    "may_approve",
    "parse_gate",
]

GATE_PATTERN = r"^metrics\.<key> (>=|>|<=|<|==|!=) <number>$"
_GATE = re.compile(r"^metrics\.([A-Za-z0-9_.\-/]{1,250})\s*(>=|<=|==|!=|>|<)\s*(\S+)$")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_ROLES = {r.value for r in Role}

# The stages a version may come from, per target stage. Production is reachable directly
# (the usual "register, then promote" path); a production version steps down by being
# archived, explicitly or when another version is promoted.
_ALLOWED_FROM: dict[str, frozenset[str]] = {
    "staging": frozenset({"none", "archived"}),
    "production": frozenset({"none", "staging", "archived"}),
    "archived": frozenset({"none", "staging", "production"}),
}


@dataclass(frozen=True)
class Gate:
    """A parsed gate: ``metrics.<metric> <op> <threshold>``."""

    metric: str
    op: str
    threshold: float

    def __str__(self) -> str:
        return f"metrics.{self.metric} {self.op} {self.threshold:g}"

    def holds(self, metrics: Mapping[str, float]) -> bool:
        """Whether ``metrics`` pass this gate (a missing or NaN metric never passes)."""
        value = metrics.get(self.metric)
        if value is None or math.isnan(value):
            return False
        return _OPS[self.op](value, self.threshold)


def parse_gate(text: object, *, field: str = "gates") -> Gate:
    """The :class:`Gate` written as ``text``, else an :class:`InvalidInputError`."""
    match = _GATE.match(text.strip()) if isinstance(text, str) else None
    threshold = _number(match.group(3)) if match else None
    if match is None or threshold is None:
        raise InvalidInputError(
            f"a gate must read {GATE_PATTERN}; got {text!r} instead",
            field=field,
            remedy="write a gate like 'metrics.auc >= 0.85'",
        )
    return Gate(match.group(1), match.group(2), threshold)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def check_policy(policy: ModelPolicy | Mapping[str, Any]) -> ModelPolicy:
    """``policy`` as a valid :class:`ModelPolicy`; unknown keys, roles and bad gates fail."""
    if isinstance(policy, ModelPolicy):
        parsed = policy
    else:
        try:
            parsed = ModelPolicy.model_validate(dict(policy))
        except (ValidationError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"the policy is not valid: {exc}",
                field="policy",
                remedy='pass {"production": {"required_approvals": 1, "approver_roles": '
                '["admin"], "approvers": [], "gates": ["metrics.auc >= 0.85"]}} '
                "(and optionally the same for 'staging')",
            ) from exc
    for stage in ("staging", "production"):
        stage_policy = parsed.for_stage(stage)
        for gate in stage_policy.gates:
            parse_gate(gate, field=f"policy.{stage}.gates")
        unknown = sorted(set(stage_policy.approver_roles) - _ROLES)
        if unknown:
            raise InvalidInputError(
                f"policy.{stage}.approver_roles must hold reader, writer or admin; got "
                f"{unknown[0]!r} instead",
                field=f"policy.{stage}.approver_roles",
                remedy="name roles, and put individual identities into 'approvers'",
            )
    return parsed


def failed_gates(policy: StagePolicy, metrics: Mapping[str, float]) -> list[str]:
    """One message per gate of ``policy`` that ``metrics`` fail (empty: all pass)."""
    failures = []
    for text in policy.gates:
        gate = parse_gate(text)
        if not gate.holds(metrics):
            value = metrics.get(gate.metric)
            shown = "missing" if value is None else f"{value:g}"
            failures.append(f"{gate} fails ({gate.metric} is {shown})")
    return failures


def check_stage_move(ref: str, current: str, target: str) -> None:
    """Raise unless a version in stage ``current`` may move to ``target``."""
    if target not in _ALLOWED_FROM:
        raise InvalidInputError(
            f"the stage must be one of staging, production, archived; got {target!r} instead",
            field="stage",
            remedy="versions start in 'none' and cannot return to it; archive them instead",
        )
    if current == target:
        raise ConflictError(
            f"{ref} is already in {target}",
            field="stage",
            remedy="nothing to do; request another stage if you meant to move it",
        )
    if current not in _ALLOWED_FROM[target]:
        raise ConflictError(
            f"{ref} cannot move from {current} to {target}",
            field="stage",
            remedy="archive a production version instead, or promote another version "
            "to production (which archives this one)",
        )


def may_approve(
    policy: StagePolicy,
    actor: str,
    role: Role | None,
) -> bool:
    """Whether ``actor`` holding ``role`` counts as an approver under ``policy``.

    Readers never approve, whatever the policy says.
    """
    if role is None or role is Role.READER:
        return False
    return actor in policy.approvers or role.value in policy.approver_roles
