"""Every method of every area protocol carries its documentation (what a user hovers over).

The protocols are the one contract of the SDK, embedded or remote, so the docs live there:
what a method does, what its arguments mean, what it returns and which errors it raises.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from podium.data.protocol import CatalogAPI, Data
from podium.features.protocol import Features
from podium.monitoring.protocol import MonitoringAPI
from podium.registry.protocol import Registry
from podium.serving.protocol import DeploymentsAPI
from podium.tracking.protocol import Tracking

PROTOCOLS: list[type[Any]] = [
    Tracking,
    Data,
    CatalogAPI,
    Registry,
    Features,
    DeploymentsAPI,
    MonitoringAPI,
]
MIN_WORDS = 5


def _own_podium_bases(protocol: type[Any]) -> list[type[Any]]:
    """The protocol and the podium protocols it extends (``Tracking`` -> ``TrackingBackend``)."""
    return [c for c in protocol.__mro__ if c.__module__.startswith("podium.")]


def public_members(protocol: type[Any]) -> dict[str, object]:
    """Every public method or property a protocol declares, itself or through its bases."""
    found: dict[str, object] = {}
    for cls in reversed(_own_podium_bases(protocol)):
        for name, member in vars(cls).items():
            if name.startswith("_"):
                continue
            if isinstance(member, property):
                found[name] = member.fget
            elif inspect.isfunction(member):
                found[name] = member
    return found


def _doc(member: object) -> str:
    # The member's own docstring, not one inherited from object or a base class.
    return inspect.cleandoc(getattr(member, "__doc__", None) or "")


CASES = [
    pytest.param(protocol, name, member, id=f"{protocol.__name__}.{name}")
    for protocol in PROTOCOLS
    for name, member in sorted(public_members(protocol).items())
]


def test_the_walk_finds_every_protocol_and_inherited_method() -> None:
    names = {p.__name__: set(public_members(p)) for p in PROTOCOLS}
    assert {"start_run", "create_run", "search_runs"} <= names["Tracking"]  # with its base
    assert {"write", "read", "sql"} <= names["Data"]
    assert {"register", "load", "approve"} <= names["Registry"]
    assert all(names.values()), names


@pytest.mark.parametrize(("protocol", "name", "member"), CASES)
def test_every_protocol_method_has_a_docstring(
    protocol: type[Any], name: str, member: object
) -> None:
    doc = _doc(member)
    assert len(doc.split()) >= MIN_WORDS, (
        f"{protocol.__module__}.{protocol.__name__}.{name} needs a docstring saying what it "
        f"does, what its arguments mean, what it returns and which errors it raises; "
        f"got {doc!r}"
    )


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.__name__)
def test_every_protocol_has_a_class_docstring(protocol: type[Any]) -> None:
    assert len(_doc(protocol).split()) >= MIN_WORDS
