"""The public surface is curated: these fail when ``podium.__all__`` drifts.

Adding or removing a name means updating ``EXPECTED`` here; every error class and every
type a protocol method returns must be exported; every export resolves (the lazy map
and the type checkers' imports name the same module) and is documented.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import typing
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from types import ModuleType

import pytest

import podium
import podium.errors

ERRORS = {
    "AuthenticationError",
    "BackendUnavailableError",
    "ConflictError",
    "IntegrityError",
    "InvalidInputError",
    "MissingDependencyError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PodiumError",
    "RateLimitedError",
    "RequestTimeoutError",
    "StorageFullError",
}
RESULTS = {
    # data and catalog
    "CatalogHit",
    "HistoryEntry",
    "LineageGraph",
    "OptimizeResult",
    "TableDescription",
    "TableInfo",
    "TableVersion",
    # features
    "Change",
    "DefinitionDescription",
    "FeatureSearchHit",
    "HistoricalFeatures",
    "MaterializationRun",
    "Materialized",
    "OnlineFeatures",
    "Pushed",
    "StoredDefinition",
    # tracking
    "ActiveRun",
    "ArtifactInfo",
    "Experiment",
    "MetricPoint",
    "Run",
    "RunComparison",
    "RunPage",
    # registry
    "ModelLineage",
    "ModelVersion",
    "PodiumModel",
    "RegisteredModel",
    "TransitionRequest",
    # serving
    "Deployment",
    "DeploymentChange",
    "DeploymentStatus",
    "Review",
    # event bus
    "BusMessage",
    "BusSubscription",
    # monitoring
    "AccuracyResult",
    "Alert",
    "AlertRule",
    "DriftResult",
    "FairnessResult",
    "FeedbackReceipt",
    "PerformanceResult",
    "QualityResult",
    "ReferenceInfo",
    # pipelines
    "PipelineInfo",
    "PipelineRun",
    "StepRun",
    "Schedule",
    "Trigger",
    # tuning
    "Study",
    "StudyTrial",
    # batch
    "BatchJob",
    # schema registry
    "CompatibilityCheck",
    "SchemaSubject",
    "SchemaValidation",
    "SchemaVersion",
}
EXPECTED = {
    "__version__",
    "connect",
    "Platform",
    "Entity",
    "Feature",
    "FeatureService",
    "FeatureView",
    "OnDemandFeatureView",
    # what a pipeline is written with
    "map",
    "pipeline",
    "step",
    # search-space helpers of p.tune
    "choice",
    "intuniform",
    "loguniform",
    "uniform",
    # autologging (docs/tracking.md)
    "autolog",
    *ERRORS,
    *RESULTS,
}
INIT = Path(podium.__file__)


def test_exported_members_are_exactly_the_documented_ones() -> None:
    assert set(podium.__all__) == EXPECTED
    assert len(podium.__all__) == len(EXPECTED), "a name is listed twice in __all__"


@pytest.mark.parametrize("name", sorted(EXPECTED - {"__version__"}))
def test_every_export_resolves_and_is_documented(name: str) -> None:
    value = getattr(podium, name)
    assert getattr(value, "__name__", None) == name
    doc = value.__doc__
    # A dataclass without a docstring gets its signature, ``Name(field: type, ...)``.
    assert doc and doc.strip() and not doc.startswith(f"{name}("), f"{name} has no docstring"


def test_dir_lists_every_export() -> None:
    assert set(dir(podium)) >= EXPECTED


def _lazy_map() -> dict[str, str]:
    """The name -> module mapping passed to ``lazy_exports`` in ``podium/__init__.py``."""
    for node in ast.walk(ast.parse(INIT.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "lazy_exports"
        ):
            mapping = ast.literal_eval(node.args[1])
            assert isinstance(mapping, dict)
            return mapping
    raise AssertionError("podium/__init__.py calls lazy_exports no more")


def _type_checking_imports() -> dict[str, str]:
    """The name -> module imports under ``if TYPE_CHECKING:``, what type checkers see."""
    found: dict[str, str] = {}
    for node in ast.parse(INIT.read_text()).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom) and statement.module
                for alias in statement.names:
                    found[alias.asname or alias.name] = statement.module
    return found


def test_the_lazy_map_and_the_type_checkers_imports_agree() -> None:
    """Editors and mypy read the imports, ``podium.X`` at run time reads the map."""
    lazy = _lazy_map()
    assert set(lazy) == EXPECTED - {"__version__"}
    assert _type_checking_imports() == lazy


def test_every_error_class_is_exported() -> None:
    defined = {
        name
        for name, value in vars(podium.errors).items()
        if inspect.isclass(value)
        and issubclass(value, podium.errors.PodiumError)
        and value.__module__ == "podium.errors"
    }
    assert defined == ERRORS
    for name in defined:
        assert getattr(podium, name) is getattr(podium.errors, name)


def test_errors_subclass_the_matching_builtins() -> None:
    assert issubclass(podium.NotFoundError, LookupError)
    assert issubclass(podium.InvalidInputError, ValueError)
    assert issubclass(podium.ConflictError, ValueError)
    assert issubclass(podium.PermissionDeniedError, PermissionError)
    assert issubclass(podium.MissingDependencyError, ImportError)
    assert issubclass(podium.BackendUnavailableError, ConnectionError)
    for name in ERRORS - {"PodiumError"}:
        error = getattr(podium, name)
        builtin_bases = [
            base
            for base in error.__mro__
            if base.__module__ == "builtins" and base not in (Exception, BaseException, object)
        ]
        assert builtin_bases, f"{name} subclasses no builtin error"


def _protocol_modules() -> Iterator[ModuleType]:
    package = INIT.parent
    for path in sorted(package.rglob("protocol.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        yield import_module(".".join(parts))


def _podium_classes(hint: object) -> Iterator[type]:
    """The podium classes inside a return annotation (``list[Run] | None`` -> ``Run``)."""
    if inspect.isclass(hint) and hint.__module__.startswith("podium."):
        yield hint
    for argument in typing.get_args(hint):
        yield from _podium_classes(argument)


def _returned_types() -> dict[type, str]:
    """Every podium class a public method of an area protocol returns, and one such method."""
    exported = {name: getattr(podium, name) for name in EXPECTED - {"__version__"}}
    returned: dict[type, str] = {}
    for module in _protocol_modules():
        for protocol in vars(module).values():
            if not (
                inspect.isclass(protocol)
                and protocol.__module__ == module.__name__
                and getattr(protocol, "_is_protocol", False)
            ):
                continue
            for name, method in inspect.getmembers(protocol, inspect.isfunction):
                if name.startswith("_"):
                    continue
                namespace = {**vars(builtins), **exported, **vars(import_module(method.__module__))}
                hints = typing.get_type_hints(method, globalns=namespace)
                for cls in _podium_classes(hints.get("return")):
                    returned.setdefault(cls, f"{protocol.__name__}.{name}")
    return returned


def test_the_protocols_are_found() -> None:
    returned = {cls.__name__ for cls in _returned_types()}
    assert {"Run", "ModelVersion", "Deployment", "DriftResult", "TableVersion"} <= returned


def test_every_type_a_protocol_method_returns_is_exported() -> None:
    missing = {
        f"{cls.__module__}.{cls.__qualname__} (from {method})"
        for cls, method in _returned_types().items()
        if getattr(podium, cls.__name__, None) is not cls
    }
    assert not missing, f"export these from podium (and add them to EXPECTED): {missing}"


DOCS = INIT.parents[2] / "docs"
# The words users meet in the serving and monitoring docs, the CLI and the API.
GLOSSARY_TERMS = {
    *("deployment", "model_id", "deployment alias", "canary", "shadow", "blue-green"),
    *("governed rollout", "warm-up", "readiness", "replica", "inference log", "spool"),
    *("reference", "reference predictions", "contract", "alert rule", "alert"),
    *("parity suite", "contract suite", "training set", "ref", "stage"),
}


def test_the_glossary_defines_each_term_once() -> None:
    rows = [
        line.split("|")[1].strip()
        for line in (DOCS / "glossary.md").read_text().splitlines()
        if line.startswith("| ") and not line.startswith("| term ")
    ]
    assert len(rows) == len(set(rows)), "a term is defined twice: one name per concept"
    missing = GLOSSARY_TERMS - set(rows)
    assert not missing, f"docs/glossary.md does not define {sorted(missing)}"


def test_every_module_says_what_it_is() -> None:
    """A module docstring tells a newcomer what is inside; a package's is its map."""
    package = INIT.parent
    for path in sorted(package.rglob("*.py")):
        docstring = ast.get_docstring(ast.parse(path.read_text()))
        assert docstring, f"{path.relative_to(package)} has no module docstring"
        if path.name == "__init__.py":
            first_line = docstring.splitlines()[0]
            assert len(first_line.split()) >= 5, f"{path.relative_to(package)}: {first_line!r}"
