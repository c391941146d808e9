"""The public surface is curated: this fails when ``podium.__all__`` drifts."""

from __future__ import annotations

import podium

EXPECTED = {
    "AuthenticationError",
    "ConflictError",
    "Entity",
    "Feature",
    "FeatureService",
    "FeatureView",
    "InvalidInputError",
    "NotFoundError",
    "OnDemandFeatureView",
    "PermissionDeniedError",
    "Platform",
    "PodiumError",
    "__version__",
    "connect",
}


def test_exported_members_are_exactly_the_documented_ones() -> None:
    assert set(podium.__all__) == EXPECTED
    for name in podium.__all__:
        assert hasattr(podium, name), name


def test_errors_subclass_the_matching_builtins() -> None:
    assert issubclass(podium.NotFoundError, LookupError)
    assert issubclass(podium.InvalidInputError, ValueError)
    assert issubclass(podium.ConflictError, ValueError)
    assert issubclass(podium.PermissionDeniedError, PermissionError)
