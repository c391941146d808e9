"""Every area protocol, and both of its implementations, method by method.

The embedded service and the HTTP client of each area must define every method of the
area's protocol with the protocol's parameters (names, kinds, defaults), and neither may
offer a public method the other lacks, except the extras listed below with the reason.
A method added on one side only fails here until the other side and the protocol have it.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any

import pytest

from podium.client.catalog import HttpCatalog
from podium.client.data import HttpData
from podium.client.deployments import HttpDeployments
from podium.client.features import HttpFeatures
from podium.client.monitoring import HttpMonitoring
from podium.client.registry import HttpRegistry
from podium.client.tracking import HttpTracking
from podium.client.webhooks import HttpWebhooks
from podium.data.catalog import Catalog
from podium.data.protocol import CatalogAPI, Data
from podium.data.service import DataService
from podium.events import Webhooks, WebhookService
from podium.features.protocol import Features
from podium.features.service import FeatureStore
from podium.monitoring.protocol import MonitoringAPI
from podium.monitoring.service import Monitoring
from podium.registry.protocol import Registry
from podium.registry.service import RegistryService
from podium.serving.control.deployments import Deployments
from podium.serving.protocol import DeploymentsAPI
from podium.tracking.protocol import Tracking
from podium.tracking.service import TrackingService


@dataclass(frozen=True)
class Area:
    protocol: type[Any]
    embedded: type[Any]
    remote: type[Any]


AREAS = {
    "tracking": Area(Tracking, TrackingService, HttpTracking),
    "data": Area(Data, DataService, HttpData),
    "catalog": Area(CatalogAPI, Catalog, HttpCatalog),
    "registry": Area(Registry, RegistryService, HttpRegistry),
    "features": Area(Features, FeatureStore, HttpFeatures),
    "deployments": Area(DeploymentsAPI, Deployments, HttpDeployments),
    "monitoring": Area(MonitoringAPI, Monitoring, HttpMonitoring),
    "webhooks": Area(Webhooks, WebhookService, HttpWebhooks),
}

# Public names only the embedded service has, on purpose: what other services of the same
# process call (never a front door), or a backend object that has no meaning remotely.
EMBEDDED_ONLY = {
    "data": {
        "lake": "the DataLake backend object; other services of the process share it",
        "dataset": "the Arrow dataset of a table: features and monitoring read it in process",
        "local_files": "files on this machine; a client reads through the API instead",
        "record_run_input": "tracking pins a run's input tables through it in process",
        "resolve_input": "registry resolves a training-table reference through it",
        "mark_pii": "the feature store marks a pii feature's source column in process",
        "tokenize": "the feature store tokenizes pii columns before the online store",
    },
    "catalog": {
        "register": "the lake registers a table it creates; not a user action",
        "record_write": "the lake records each commit; not a user action",
        "record_lineage": "services record lineage as they derive tables; not a user action",
        "with_audit": "the platform gives each caller a view of the shared catalog",
    },
    "features": {
        "online_store": "the online store backend object; serving uses it in process",
    },
    "tracking": {
        "begin_run": "create_run + log_params in one write: tuning trials and pipeline steps",
        "complete_run": "metrics + tags + end_run in one write: tuning trials and pipeline steps",
    },
}
REMOTE_ONLY: dict[str, dict[str, str]] = {}

# Gaps known today, each failing the test below until it is closed (then strict xfail
# flips and the entry goes).
GAPS: dict[tuple[str, str, str], str] = {}


def _public(cls: type[Any]) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def _parameters(function: Any) -> list[tuple[str, str, Any]]:
    signature = inspect.signature(function)
    return [(p.name, p.kind.name, p.default) for p in signature.parameters.values()]


def one_sided(area: Area, side: str, extras: dict[str, str]) -> set[str]:
    """Public names ``side`` has that neither the protocol nor the other side has."""
    own, other = (
        (area.embedded, area.remote) if side == "embedded" else (area.remote, area.embedded)
    )
    return _public(own) - _public(area.protocol) - _public(other) - set(extras)


def mismatches(area: Area, side: str) -> dict[str, str]:
    """Protocol methods ``side`` lacks or defines with other parameters, with the difference."""
    impl = area.embedded if side == "embedded" else area.remote
    found: dict[str, str] = {}
    for name in sorted(_public(area.protocol)):
        expected = _parameters(getattr(area.protocol, name))
        if not hasattr(impl, name):
            found[name] = "missing"
            continue
        got = _parameters(getattr(impl, name))
        if got != expected:
            found[name] = f"protocol {expected}, {impl.__name__} {got}"
    return found


def _method_cases() -> list[Any]:
    cases = []
    for area_name, area in AREAS.items():
        for method in sorted(_public(area.protocol)):
            for side in ("embedded", "remote"):
                cases.append(
                    pytest.param(area_name, method, side, id=f"{area_name}.{method}-{side}")
                )
    return cases


@pytest.mark.parametrize(("area_name", "method", "side"), _method_cases())
def test_both_sides_define_every_protocol_method_alike(
    area_name: str, method: str, side: str
) -> None:
    differences = mismatches(AREAS[area_name], side)
    assert method not in differences, differences[method]


def _side_cases() -> list[Any]:
    cases = []
    for area_name in AREAS:
        for side in ("embedded", "remote"):
            gaps = [reason for (a, s, _), reason in GAPS.items() if (a, s) == (area_name, side)]
            marks = [pytest.mark.xfail(strict=True, reason=f"gap: {gap}") for gap in gaps]
            cases.append(pytest.param(area_name, side, id=f"{area_name}-{side}", marks=marks))
    return cases


@pytest.mark.parametrize(("area_name", "side"), _side_cases())
def test_no_public_method_on_one_side_only(area_name: str, side: str) -> None:
    extras = (EMBEDDED_ONLY if side == "embedded" else REMOTE_ONLY).get(area_name, {})
    assert one_sided(AREAS[area_name], side, extras) == set()


@pytest.mark.parametrize("area_name", AREAS)
def test_documented_extras_still_exist(area_name: str) -> None:
    """An extra listed above that is gone (or now in the protocol) is removed from the list."""
    area = AREAS[area_name]
    for extras, cls in ((EMBEDDED_ONLY, area.embedded), (REMOTE_ONLY, area.remote)):
        for name in extras.get(area_name, {}):
            assert name in _public(cls) and name not in _public(area.protocol), name


class _Protocol:
    def read(self, name: str, *, version: int | None = None) -> int: ...


class _Service:
    def read(self, name: str, *, version: int | None = None) -> int:
        return 0

    def purge(self, name: str) -> None: ...


class _Client:
    def read(self, name: str, version: int | None = None) -> int:
        return 0


def test_the_check_catches_a_method_on_one_side_only_and_a_changed_parameter() -> None:
    area = Area(_Protocol, _Service, _Client)
    assert one_sided(area, "embedded", {}) == {"purge"}
    assert one_sided(area, "remote", {}) == set()
    assert mismatches(area, "embedded") == {}
    assert set(mismatches(area, "remote")) == {"read"}


# Protocol methods that return plain data on purpose; every other result is a model.
PLAIN_RESULTS = {
    ("deployments", "predict"): "the body of POST /v1/predictions, fixed by the design",
    ("monitoring", "report"): "the JSON twin of the HTML report, whatever it shows",
    ("monitoring", "contract"): "plain data to edit and hand back to set_contract",
}
UNTYPED_GAPS: dict[tuple[str, str], str] = {}
_UNTYPED = re.compile(r"\bAny\b|\bdict\[")


def _result_cases() -> list[Any]:
    cases = []
    for area_name, area in AREAS.items():
        for method in sorted(_public(area.protocol)):
            if (area_name, method) in PLAIN_RESULTS:
                continue
            gap = UNTYPED_GAPS.get((area_name, method))
            marks = [pytest.mark.xfail(strict=True, reason=f"gap: {gap}")] if gap else []
            cases.append(pytest.param(area_name, method, id=f"{area_name}.{method}", marks=marks))
    return cases


@pytest.mark.parametrize(("area_name", "method"), _result_cases())
def test_protocol_results_are_models(area_name: str, method: str) -> None:
    """A result is a model or dataclass both sides share, not a ``dict`` or ``Any``."""
    function = getattr(AREAS[area_name].protocol, method)
    returned = str(inspect.get_annotations(function).get("return"))
    assert not _UNTYPED.search(returned), f"{method} returns {returned}"


# Protocols carry the user's documentation (what an editor shows on hover); an area joins
# this list once every method of its protocol has a docstring.
DOCUMENTED = ("data", "catalog", "deployments", "monitoring", "webhooks")


@pytest.mark.parametrize(
    ("area_name", "method"),
    [(a, m) for a in DOCUMENTED for m in sorted(_public(AREAS[a].protocol))],
)
def test_protocol_methods_are_documented(area_name: str, method: str) -> None:
    function = getattr(AREAS[area_name].protocol, method)
    assert function.__doc__ and function.__doc__.strip(), f"{area_name}.{method} has no docstring"
