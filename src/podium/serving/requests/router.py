"""The traffic router: which model version answers a request, and which one shadows it.

A :class:`TrafficPolicy` names the stable version, an optional canary with the share of
traffic it gets, and an optional shadow that sees a copy of every request but is never
returned. With a ``sticky_key`` the feature's value pins the route: its hash (blake2b, so
every replica and process agrees) is compared with the canary weight, so the same value
always takes the same route for a given weight, and raising the weight only moves more
values to the canary, never back.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from podium.errors import InvalidInputError

__all__ = ["Route", "TrafficPolicy", "choose_route", "sticky_point"]

Role = Literal["stable", "canary"]


@dataclass(frozen=True)
class TrafficPolicy:
    """How a deployment splits traffic between versions.

    ``canary_weight`` (0..1) is the share sent to ``canary``; ``shadow`` is mirrored and
    never returned; ``sticky_key`` names the feature whose value pins a request's route
    (requests without it are routed at random with the weight).
    """

    stable: str
    canary: str | None = None
    canary_weight: float = 0.0
    shadow: str | None = None
    sticky_key: str | None = None

    def __post_init__(self) -> None:
        if not self.stable:
            _invalid("stable", "a model version", self.stable, "name the stable version, e.g. '3'")
        weight = self.canary_weight
        if not (isinstance(weight, int | float) and math.isfinite(weight) and 0 <= weight <= 1):
            _invalid("canary_weight", "a number between 0 and 1", weight, "pass e.g. 0.05 for 5%")
        if self.canary is None and weight > 0:
            _invalid("canary", "a version when canary_weight > 0", None, "name the canary version")
        if self.canary is not None and self.canary == self.stable:
            _invalid("canary", "a version other than the stable one", self.canary,
                     "promote instead of canarying the stable version")  # fmt: skip


def _invalid(name: str, expected: str, got: object, remedy: str) -> None:
    raise InvalidInputError(
        f"the '{name}' of a traffic policy must be {expected}; got {got!r} instead",
        field=name,
        remedy=remedy,
    )


@dataclass(frozen=True)
class Route:
    """Where one request goes: the version that answers, its role, and the shadow, if any."""

    version: str
    role: Role
    shadow: str | None


def sticky_point(value: Any, *, salt: str = "") -> float:
    """The position of a sticky value in [0, 1): the same in every process and replica.

    Integral floats hash like their ints, so ``7`` and ``7.0`` pin the same route.
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    digest = hashlib.blake2b(f"{salt}\x00{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def choose_route(
    policy: TrafficPolicy,
    features: Mapping[str, Any],
    *,
    rng: random.Random | None = None,
) -> Route:
    """The route of a request with ``features`` under ``policy``.

    Weight 0 always gives the stable version and weight 1 the canary. With a sticky key
    present in ``features``, the route depends only on its value (salted with the canary
    version, so each canary rollout samples its own set of users); otherwise it is drawn
    from ``rng`` (default: the module's shared generator).
    """
    canary, weight = policy.canary, policy.canary_weight
    shadow = policy.shadow
    if canary is None or weight <= 0:
        return Route(policy.stable, "stable", shadow)
    if weight >= 1:
        return Route(canary, "canary", shadow)
    key = policy.sticky_key
    if key is not None and features.get(key) is not None:
        point = sticky_point(features[key], salt=canary)
    else:
        point = (rng or random).random()
    if point < weight:
        return Route(canary, "canary", shadow)
    return Route(policy.stable, "stable", shadow)
