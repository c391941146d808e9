"""Response caches: canonical keys, LRU, TTL, version isolation, invalidation, similarity."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podium.errors import InvalidInputError
from podium.serving.requests.cache import ResponseCache, SimilarityCache, cache_key


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


# -- cache_key ---------------------------------------------------------------------


def test_key_ignores_feature_order_and_int_float_spelling() -> None:
    a = cache_key("3", {"tenure": 24, "charges": 89.5, "plan": "pro"})
    b = cache_key("3", {"plan": "pro", "charges": 89.5, "tenure": 24.0})
    c = cache_key("3", {"plan": "pro", "charges": np.float64(89.5), "tenure": np.int64(24)})
    assert a == b == c
    assert len(a) == 40 and int(a, 16) >= 0


def test_key_distinguishes_values_types_and_versions() -> None:
    base = cache_key("3", {"x": 1})
    assert cache_key("3", {"x": 2}) != base
    assert cache_key("3", {"x": "1"}) != base
    assert cache_key("3", {"x": True}) != base
    assert cache_key("3", {"x": None}) != base
    assert cache_key("4", {"x": 1}) != base
    assert cache_key("3", {"x": 1, "y": None}) != base
    assert cache_key("3", {"x": 1.5}) != cache_key("3", {"x": 1.50000001})


def test_key_normalises_nested_values() -> None:
    assert cache_key("1", {"v": [1.0, {"b": 2.0, "a": 1}]}) == cache_key(
        "1", {"v": (1, {"a": 1.0, "b": 2})}
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), np.float32("nan")])
def test_key_refuses_nan_and_infinity_naming_the_feature(bad: float) -> None:
    with pytest.raises(InvalidInputError) as info:
        cache_key("1", {"ok": 1, "charges": bad})
    assert info.value.field == "charges"


def test_key_refuses_values_without_a_canonical_form() -> None:
    with pytest.raises(InvalidInputError) as info:
        cache_key("1", {"when": object()})
    assert info.value.field == "when"
    with pytest.raises(InvalidInputError) as info:
        cache_key("1", {"v": [1.0, float("nan")]})
    assert info.value.field == "v[1]"


# -- ResponseCache -----------------------------------------------------------------


def test_hit_returns_an_equal_copy() -> None:
    cache = ResponseCache()
    body = {"prediction": "low_risk", "probabilities": {"low_risk": 0.85, "high_risk": 0.15}}
    cache.put("k", body)
    body["prediction"] = "changed after put"
    got = cache.get("k")
    assert got == {"prediction": "low_risk", "probabilities": {"low_risk": 0.85, "high_risk": 0.15}}
    assert got is not None
    got["probabilities"]["low_risk"] = 0.0  # callers may mutate what they get
    assert cache.get("k") == {
        "prediction": "low_risk",
        "probabilities": {"low_risk": 0.85, "high_risk": 0.15},
    }
    assert cache.get("missing") is None
    stats = cache.stats
    assert (stats.hits, stats.misses, stats.size) == (2, 1, 1)
    assert stats.hit_rate == pytest.approx(2 / 3)


def test_least_recently_used_entry_is_evicted_first() -> None:
    cache = ResponseCache(max_entries=3)
    for key in "abc":
        cache.put(key, {"k": key})
    assert cache.get("a") == {"k": "a"}  # a is now the most recent
    cache.put("d", {"k": "d"})
    assert cache.get("b") is None
    assert [cache.get(key) is not None for key in "acd"] == [True, True, True]
    assert cache.stats.evictions == 1
    assert len(cache) == 3


def test_put_of_an_existing_key_replaces_without_evicting() -> None:
    cache = ResponseCache(max_entries=2)
    cache.put("a", {"v": 1})
    cache.put("b", {"v": 2})
    cache.put("a", {"v": 3})
    assert cache.get("a") == {"v": 3}
    assert cache.get("b") == {"v": 2}
    assert cache.stats.evictions == 0


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    cache = ResponseCache(ttl_seconds=10, clock=clock)
    cache.put("k", {"v": 1})
    clock.now += 9.99
    assert cache.get("k") == {"v": 1}
    clock.now += 0.01
    assert cache.get("k") is None
    assert len(cache) == 0  # the expired entry is dropped, not kept
    cache.put("k", {"v": 2})  # a put restarts the clock
    clock.now += 5
    assert cache.get("k") == {"v": 2}


def test_a_new_version_never_hits_an_entry_of_the_old_one() -> None:
    cache = ResponseCache()
    features = {"customer_id": "12345", "tenure_months": 24}
    cache.put(cache_key("3", features), {"prediction": "low_risk", "model_version": "3"})
    assert cache.get(cache_key("4", features)) is None
    assert cache.get(cache_key("3", features)) == {"prediction": "low_risk", "model_version": "3"}


def test_invalidate_drops_everything() -> None:
    cache = ResponseCache()
    for i in range(10):
        cache.put(str(i), {"v": i})
    cache.invalidate()
    assert len(cache) == 0
    assert all(cache.get(str(i)) is None for i in range(10))


def test_concurrent_use_keeps_the_bound() -> None:
    cache = ResponseCache(max_entries=50)

    def worker(offset: int) -> None:
        for i in range(2000):
            key = str((offset + i) % 120)
            if cache.get(key) is None:
                cache.put(key, {"v": key})

    threads = [threading.Thread(target=worker, args=(n * 7,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = cache.stats
    assert stats.size == 50
    assert stats.hits + stats.misses == 8000


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"max_entries": 0}, "max_entries"),
    ({"ttl_seconds": 0}, "ttl_seconds"),
])  # fmt: skip
def test_bad_bounds_name_the_field(kwargs: dict[str, float], name: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        ResponseCache(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == name
    with pytest.raises(InvalidInputError) as info:
        SimilarityCache(threshold=1.0, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == name


# -- SimilarityCache ---------------------------------------------------------------


def test_similar_input_within_threshold_hits_the_nearest_entry() -> None:
    cache = SimilarityCache(threshold=0.5)
    cache.put("3", [1.0, 1.0], {"p": "a"})
    cache.put("3", [2.0, 2.0], {"p": "b"})
    assert cache.get("3", [1.1, 1.2]) == {"p": "a"}
    assert cache.get("3", [1.9, 2.0]) == {"p": "b"}
    assert cache.get("3", [1.5, 1.5]) is None  # 0.707 from both
    assert cache.get("3", [1.3, 1.4]) == {"p": "a"}  # exactly 0.5 away counts
    stats = cache.stats
    assert (stats.hits, stats.misses, stats.size) == (3, 1, 2)


def test_similarity_is_per_version() -> None:
    cache = SimilarityCache(threshold=1.0)
    cache.put("3", [1.0, 1.0], {"p": "v3"})
    assert cache.get("4", [1.0, 1.0]) is None
    cache.put("4", [1.0, 1.0], {"p": "v4"})
    assert cache.get("4", [1.0, 1.0]) == {"p": "v4"}
    assert cache.get("3", [1.0, 1.0]) == {"p": "v3"}


def test_similarity_entries_expire_and_evict_least_recently_used() -> None:
    clock = Clock()
    cache = SimilarityCache(threshold=0.1, max_entries=3, ttl_seconds=10, clock=clock)
    for i in range(3):
        cache.put("1", [float(i)], {"i": i})
    assert cache.get("1", [0.0]) == {"i": 0}
    cache.put("2", [5.0], {"i": 5})  # evicts [1.0], the least recently used
    assert cache.get("1", [1.0]) is None
    assert cache.get("1", [0.0]) == {"i": 0}
    assert cache.stats.evictions == 1
    clock.now += 10
    assert cache.get("1", [0.0]) is None
    assert cache.get("2", [5.0]) is None


def test_similarity_cache_grows_past_its_first_rows_and_reuses_freed_ones() -> None:
    cache = SimilarityCache(threshold=0.01, max_entries=20)
    for i in range(50):
        cache.put("1", [float(i), 0.0], {"i": i})
    assert len(cache) == 20
    assert all(cache.get("1", [float(i), 0.0]) == {"i": i} for i in range(30, 50))
    assert all(cache.get("1", [float(i), 0.0]) is None for i in range(30))


def test_similarity_hands_out_copies_and_invalidates() -> None:
    cache = SimilarityCache(threshold=0.1)
    cache.put("1", [0.0], {"p": [1, 2]})
    got = cache.get("1", [0.0])
    assert got is not None
    got["p"].append(3)
    assert cache.get("1", [0.0]) == {"p": [1, 2]}
    cache.invalidate()
    assert cache.get("1", [0.0]) is None
    assert len(cache) == 0


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [float("inf")], ["a"], [[1.0]]])
def test_similarity_refuses_bad_vectors(bad: list[float]) -> None:
    cache = SimilarityCache(threshold=0.1)
    with pytest.raises(InvalidInputError) as info:
        cache.put("1", bad, {})
    assert info.value.field == "vector"


def test_similarity_refuses_a_new_dimension_for_a_version() -> None:
    cache = SimilarityCache(threshold=0.1)
    cache.put("1", [1.0, 2.0], {})
    assert cache.get("1", [1.0]) is None
    with pytest.raises(InvalidInputError, match="2 numbers"):
        cache.put("1", [1.0], {})


def test_similarity_threshold_must_be_sane() -> None:
    with pytest.raises(InvalidInputError) as info:
        SimilarityCache(threshold=-1)
    assert info.value.field == "threshold"


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
)


@settings(derandomize=True, deadline=None, max_examples=200)
@given(st.dictionaries(st.text(max_size=5), _SCALARS, max_size=8), st.randoms())
def test_key_is_invariant_to_order_and_integral_float_spelling(
    features: dict[str, object], rng: random.Random
) -> None:
    items = list(features.items())
    rng.shuffle(items)
    respelled = {
        k: float(v) if type(v) is int and abs(v) < 2**53 and rng.random() < 0.5 else v
        for k, v in items
    }
    assert cache_key("7", respelled) == cache_key("7", features)
    assert cache_key("8", respelled) != cache_key("7", features)


def test_expired_entries_at_the_cold_end_are_dropped_on_put() -> None:
    clock = Clock()
    cache = ResponseCache(ttl_seconds=10, clock=clock)
    for i in range(5):
        cache.put(str(i), {"v": i})
    clock.now += 10
    cache.put("fresh", {"v": "fresh"})
    assert len(cache) == 1
    stats = cache.stats
    assert (stats.expirations, stats.evictions) == (5, 0)
