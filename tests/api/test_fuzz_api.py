"""schemathesis over the whole OpenAPI of ``create_app``: every check, an admin key, no 5xx.

The app is served by uvicorn on a loopback port and schemathesis runs all its checks
against the app's ``/openapi.json``. The
test fails on any check failure (a 5xx, a response the document does not declare, a
schema-valid request refused, ...) and on any operation that never got past
authentication: each must answer at least once with something other than 401 or 403.

The run is bounded for CI: the examples and fuzzing phases, ``PODIUM_FUZZ_EXAMPLES``
examples per operation, a fixed seed, derandomized (about a minute on a loaded 2-core
machine). ``scripts/fuzz_api.py`` runs the same test with all four phases (coverage and
stateful too, ``PODIUM_FUZZ_PHASES``) and more examples. Operations that can end
the fuzzing key itself (revoking it) run last, on their own, so they cannot starve the
rest of the run of a valid key (docs/adr/0037-api-fuzzing.md).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.engine import events, from_schema

from podium.access.roles import Role
from podium.api.app import create_app
from podium.config import Settings
from podium.platform import Installation
from tests.conftest import loopback_server

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("PODIUM_FUZZ_EXAMPLES", "2"))
SEED = int(os.environ.get("PODIUM_FUZZ_SEED", "18"))
STATEFUL_STEPS = int(os.environ.get("PODIUM_FUZZ_STATEFUL_STEPS", "5"))
ALL_PHASES = ("examples", "coverage", "fuzzing", "stateful")
# CI runs the cheap phases (about a minute on a loaded 2-core machine); the script all four.
PHASES = os.environ.get("PODIUM_FUZZ_PHASES", "examples,fuzzing").split(",")
AUTH_ONLY = frozenset({401, 403})
POSITIVE_STATUSES = ["2XX", "3XX", 400, 401, 403, 404, 409, 429]
# What can revoke the very key the fuzzer sends: fuzzed last, on its own.
KEY_ENDING = r"^/v1/keys/"


@dataclass
class FuzzReport:
    """What a schemathesis run saw: statuses per operation and every failed check."""

    statuses: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)

    def unreached(self) -> list[str]:
        """Operations that answered nothing but 401/403 (or nothing at all)."""
        return sorted(op for op, codes in self.statuses.items() if not codes - AUTH_ONLY)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """A fresh installation served on loopback, and an admin key of its project."""
    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'p.db'}")
    installation = Installation(settings)
    try:
        installation.projects.ensure("fuzz")
        _, secret = installation.keys.create("fuzz", Role.ADMIN, name="fuzzer")
        app = create_app(installation)
        # Built in process: over a loaded machine's loopback it can take past a read timeout.
        document = app.openapi()
        with loopback_server(app) as url:
            yield url, secret, document
    finally:
        installation.close()


def _config(secret: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Bearer {secret}"},
            "checks": {
                "enabled": True,
                # OpenAPI cannot say "valid SQL" or "a column the table has": podium answers
                # such semantically invalid, schema-valid input with a 400 problem document.
                "positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES},
            },
            "generation": {"max-examples": EXAMPLES, "deterministic": True},
            "phases": {
                **{phase: {"enabled": phase in PHASES} for phase in ALL_PHASES},
                "stateful": {"enabled": "stateful" in PHASES, "max-steps": STATEFUL_STEPS},
            },
            "request-timeout": 30,
        }
    )


def fuzz(
    url: str, secret: str, document: dict[str, Any], report: FuzzReport, *, last: bool
) -> None:
    """Run every phase and check over the operations (``last``: only the key-ending ones)."""
    schema = schemathesis.openapi.from_dict(document, config=_config(secret))
    schema.config.update(base_url=url)
    schema = (
        schema.include(path_regex=KEY_ENDING) if last else schema.exclude(path_regex=KEY_ENDING)
    )
    for label in _labels(schema):
        report.statuses.setdefault(label, set())
    for event in from_schema(schema).execute():
        if isinstance(event, events.PhaseFinished):
            report.phases.append(f"{event.phase.name.value}: {event.status.value}")
        elif isinstance(event, events.ScenarioFinished):
            _record(event, report)
        elif isinstance(event, events.NonFatalError):
            report.errors.append(f"{event.label}: {event.value!r}")


def _labels(schema: schemathesis.BaseSchema) -> list[str]:
    return [result.ok().label for result in schema.get_all_operations()]


def _record(event: events.ScenarioFinished, report: FuzzReport) -> None:
    recorder = event.recorder
    for case_id, interaction in recorder.interactions.items():
        response = interaction.response
        case = recorder.cases.get(case_id)
        if response is None or case is None:
            continue
        # Only the declared methods count: a TRACE answered 405 reaches no handler.
        if case.value.method.upper() == case.value.operation.method.upper():
            report.statuses[case.value.operation.label].add(response.status_code)
    for checks in recorder.checks.values():
        for check in checks:
            if check.failure_info is not None:
                failure = check.failure_info.failure
                report.failures.append(
                    f"{recorder.label}: {check.name}: {failure.title}: {failure.message}"
                )


def test_fuzz_whole_api_with_an_admin_key(served: tuple[str, str, dict[str, Any]]) -> None:
    url, secret, document = served
    report = FuzzReport()

    fuzz(url, secret, document, report, last=False)
    fuzz(url, secret, document, report, last=True)

    assert len(report.statuses) > 100, sorted(report.statuses)
    assert not report.errors, "\n".join(report.errors)
    assert not report.failures, f"{len(report.failures)} failures:\n" + "\n".join(
        sorted(set(report.failures))
    )
    assert not report.unreached(), f"only 401/403 (or nothing): {report.unreached()}"
