"""The traffic router: weights, stickiness across processes, shadows, policy validation."""

from __future__ import annotations

import random

import pytest

from podium.errors import InvalidInputError
from podium.serving.requests.router import Route, TrafficPolicy, choose_route, sticky_point


def test_without_a_canary_everything_is_stable() -> None:
    policy = TrafficPolicy(stable="3")
    assert choose_route(policy, {}) == Route("3", "stable", None)


def test_weight_zero_is_always_stable_and_one_always_canary() -> None:
    rng = random.Random(1)
    zero = TrafficPolicy(stable="3", canary="4", canary_weight=0.0)
    one = TrafficPolicy(stable="3", canary="4", canary_weight=1.0, sticky_key="customer_id")
    for i in range(1000):
        assert choose_route(zero, {"customer_id": i}, rng=rng).role == "stable"
        assert choose_route(one, {"customer_id": i}, rng=rng) == Route("4", "canary", None)


@pytest.mark.parametrize("weight", [0.05, 0.25, 0.5, 0.9])
def test_observed_canary_fraction_matches_the_weight(weight: float) -> None:
    rng = random.Random(42)
    policy = TrafficPolicy(stable="3", canary="4", canary_weight=weight)
    draws = 10_000
    canary = sum(choose_route(policy, {}, rng=rng).role == "canary" for _ in range(draws))
    # Binomial standard deviation is at most 0.005 at 10k draws; allow four of them.
    assert canary / draws == pytest.approx(weight, abs=0.02)


def test_sticky_fraction_matches_the_weight_over_many_keys() -> None:
    policy = TrafficPolicy(stable="3", canary="4", canary_weight=0.3, sticky_key="customer_id")
    canary = sum(choose_route(policy, {"customer_id": i}).role == "canary" for i in range(10_000))
    assert canary / 10_000 == pytest.approx(0.3, abs=0.02)


def test_sticky_value_always_gets_the_same_route() -> None:
    policy = TrafficPolicy(stable="3", canary="4", canary_weight=0.5, sticky_key="customer_id")
    rng = random.Random(7)
    for customer in ["12345", "777", 42, 42.0]:
        routes = {choose_route(policy, {"customer_id": customer}, rng=rng) for _ in range(50)}
        assert len(routes) == 1
    assert choose_route(policy, {"customer_id": 42}) == choose_route(policy, {"customer_id": 42.0})


def test_raising_the_weight_only_moves_keys_to_the_canary() -> None:
    def canaries(weight: float) -> set[int]:
        policy = TrafficPolicy(stable="3", canary="4", canary_weight=weight, sticky_key="k")
        return {i for i in range(2000) if choose_route(policy, {"k": i}).role == "canary"}

    small, large = canaries(0.1), canaries(0.5)
    assert small and small < large


def test_sticky_point_is_the_same_in_every_process() -> None:
    # Pinned values: blake2b does not depend on PYTHONHASHSEED, so every replica agrees;
    # a change here would re-route every sticky user in a running canary.
    assert sticky_point("12345", salt="4") == 0.7431057384699704
    assert sticky_point(7, salt="4") == 0.41462212141637406
    assert sticky_point(7.0, salt="4") == 0.41462212141637406
    assert sticky_point("ü", salt="4") == 0.7749419718559302
    assert sticky_point("12345", salt="5") != sticky_point("12345", salt="4")


def test_missing_sticky_value_falls_back_to_the_rng() -> None:
    policy = TrafficPolicy(stable="3", canary="4", canary_weight=0.5, sticky_key="customer_id")
    rng = random.Random(3)
    roles = {choose_route(policy, {"other": 1}, rng=rng).role for _ in range(100)}
    assert roles == {"stable", "canary"}


def test_shadow_rides_along_on_every_route() -> None:
    policy = TrafficPolicy(stable="3", canary="4", canary_weight=0.5, shadow="5")
    rng = random.Random(0)
    routes = [choose_route(policy, {}, rng=rng) for _ in range(100)]
    assert {r.shadow for r in routes} == {"5"}
    assert {r.version for r in routes} == {"3", "4"}


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"stable": ""}, "stable"),
        ({"stable": "3", "canary": "4", "canary_weight": 1.5}, "canary_weight"),
        ({"stable": "3", "canary": "4", "canary_weight": -0.1}, "canary_weight"),
        ({"stable": "3", "canary": "4", "canary_weight": float("nan")}, "canary_weight"),
        ({"stable": "3", "canary_weight": 0.5}, "canary"),
        ({"stable": "3", "canary": "3", "canary_weight": 0.5}, "canary"),
    ],
)
def test_bad_policies_name_the_field(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        TrafficPolicy(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == name
