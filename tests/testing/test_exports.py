"""The contract suites' public names are curated: this fails when they drift."""

from __future__ import annotations

import importlib

import pytest

import podium.testing

SUITES = {
    "podium.testing.artifact_store": "ArtifactStoreContract",
    "podium.testing.event_bus": "EventBusContract",
    "podium.testing.lake_storage": "LakeStorageContract",
    "podium.testing.metadata_database": "MetadataDatabaseContract",
    "podium.testing.online_store": "OnlineStoreContract",
}


@pytest.mark.parametrize(("module_name", "contract"), sorted(SUITES.items()))
def test_each_suite_exports_exactly_its_contract(module_name: str, contract: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__all__ == [contract]
    suite = getattr(module, contract)
    assert isinstance(suite, type)
    assert [name for name in dir(suite) if name.startswith("test_")], "a suite with no checks"
    assert "class Test" in (module.__doc__ or ""), "the docstring shows how to run it"
    assert contract in (podium.testing.__doc__ or ""), "the package docstring lists it"


def test_the_package_exports_nothing_itself() -> None:
    assert podium.testing.__all__ == []
