"""One deployment as a serving process holds it in memory: versions, chains, caches.

A :class:`DeploymentState` is immutable once built: a reload builds a new one and swaps
it in with one assignment, so a request in flight finishes on the state it started with
and no request is dropped. Building it is the only part that reads the metadata database
and loads artifacts; the hot path reads only this object.

Each served version gets a fallback chain: primary model → fallback model → rule-based
function → default response (the links the deployment names), each model link guarded by
its own circuit breaker and bounded by the deployment's timeout. A model that could not be
loaded, or rules that cannot be imported, are links that always fail: the next link
answers, so a deployment with a fallback never fails for them.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from podium.errors import BackendUnavailableError, InvalidInputError
from podium.serving.control.canary import CanaryWindow
from podium.serving.control.spec import Deployment, FallbackSpec
from podium.serving.requests.breaker import BreakerSettings, CircuitBreaker
from podium.serving.requests.cache import ResponseCache, SimilarityCache
from podium.serving.requests.fallback import ESCALATED, FallbackChain, Link
from podium.serving.requests.loaded import Output, ServedModel, check_model_outputs
from podium.serving.requests.router import Route, TrafficPolicy
from podium.serving.requests.validation import RowValidator

__all__ = [
    "DeploymentState",
    "ShadowStats",
    "VersionPath",
    "breaker_settings",
    "build_chain",
    "build_state",
    "load_rules",
]

Rules = Callable[[Mapping[str, Any]], Any]


@dataclass
class ShadowStats:
    """How often the shadow (or green) version agreed with the answer returned."""

    compared: int = 0
    agreed: int = 0
    failed: int = 0


@dataclass(frozen=True)
class VersionPath:
    """One served version: its model, input check and fallback chain."""

    version: str
    model: ServedModel
    validator: RowValidator
    chain: FallbackChain


@dataclass(frozen=True)
class DeploymentState:
    """Everything the hot path needs for one deployment (see the module docstring)."""

    deployment: Deployment
    policy: TrafficPolicy
    paths: dict[str, VersionPath]
    stable_route: Route
    cache: ResponseCache | None
    similarity: SimilarityCache | None
    window: CanaryWindow | None
    fallback_model: ServedModel | None = None
    shadow_stats: ShadowStats = field(default_factory=ShadowStats)
    loaded_at: float = field(default_factory=time.monotonic)

    @property
    def name(self) -> str:
        """The deployment's name."""
        return self.deployment.spec.name

    @property
    def model_name(self) -> str:
        """The registered model it serves."""
        return self.deployment.model_name


def build_state(
    deployment: Deployment,
    *,
    model_of: Callable[[str], ServedModel],
    fallback_model: ServedModel | None,
    breaker_for: Callable[[str, str], CircuitBreaker],
    executor: Executor | None,
    previous: DeploymentState | None = None,
) -> DeploymentState:
    """The state of ``deployment``: every version it routes to (and blue, kept warm),
    each with its input check and fallback chain, plus caches and a canary window.

    The caches of ``previous`` are kept while the cache settings and the stable version
    stay the same (a canary step or a new shadow does not empty them); a new stable
    version starts with empty caches. Keys hold the version either way, so no version
    ever answers from another's entry.
    """
    spec = deployment.spec
    traffic = deployment.traffic
    allowed = set(spec.entity_keys)
    canary = traffic.canary
    if canary is not None and canary.sticky_key:
        allowed.add(canary.sticky_key)
    rules = _rules_or_failure(spec.fallback.rules) if spec.fallback.rules else None
    quick = rules is None and (fallback_model is None or fallback_model.fast)
    versions = traffic.versions()
    if traffic.blue is not None and traffic.blue not in versions:
        versions.append(traffic.blue)  # kept warm for an instant rollback
    paths: dict[str, VersionPath] = {}
    for number in versions:
        version = str(number)
        model = model_of(f"{deployment.model_name}/{number}")
        paths[version] = VersionPath(
            version=version,
            model=model,
            validator=RowValidator(model.signature, allowed_extra=allowed),
            chain=build_chain(
                model,
                fallback=spec.fallback,
                fallback_model=fallback_model,
                rules=rules,
                timeout_seconds=spec.timeout_ms / 1000.0,
                breaker_for=functools.partial(breaker_for, version),
                executor=executor,
                inline=quick and model.fast,
            ),
        )
    policy = TrafficPolicy(
        stable=str(traffic.stable),
        canary=str(canary.version) if canary else None,
        canary_weight=canary.weight if canary else 0.0,
        shadow=str(traffic.shadow) if traffic.shadow is not None else None,
        sticky_key=canary.sticky_key if canary else None,
    )
    cache = spec.cache
    similar = cache.enabled and cache.similarity_threshold is not None
    if (
        previous is not None
        and previous.deployment.spec.cache == cache
        and previous.policy.stable == policy.stable
    ):
        return DeploymentState(
            deployment=deployment,
            policy=policy,
            paths=paths,
            stable_route=Route(policy.stable, "stable", policy.shadow),
            cache=previous.cache,
            similarity=previous.similarity,
            window=CanaryWindow() if canary is not None else None,
            fallback_model=fallback_model,
            shadow_stats=(
                previous.shadow_stats if previous.policy.shadow == policy.shadow else ShadowStats()
            ),
        )
    return DeploymentState(
        deployment=deployment,
        policy=policy,
        paths=paths,
        stable_route=Route(policy.stable, "stable", policy.shadow),
        cache=ResponseCache(max_entries=cache.max_entries, ttl_seconds=cache.ttl_seconds)
        if cache.enabled
        else None,
        similarity=SimilarityCache(
            threshold=cache.similarity_threshold or 0.0,
            max_entries=min(cache.max_entries, 10_000),
            ttl_seconds=cache.ttl_seconds,
        )
        if similar
        else None,
        window=CanaryWindow() if canary is not None else None,
        fallback_model=fallback_model,
    )


def breaker_settings(deployment: Deployment) -> BreakerSettings:
    """The deployment's breaker spec as the breaker's settings."""
    spec = deployment.spec.breaker
    return BreakerSettings(
        failure_rate=spec.failure_rate,
        window_seconds=spec.window_seconds,
        min_calls=spec.min_calls,
        cooldown_seconds=spec.cooldown_seconds,
        half_open_probes=spec.half_open_probes,
        restore_seconds=spec.restore_seconds,
    )


def load_rules(path: str) -> Rules:
    """The function ``module:function`` names; an error naming the setting when missing."""
    module_name, _, attribute = path.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise InvalidInputError(
            f"the rule-based fallback {path!r} cannot be imported: {exc}",
            field="fallback.rules",
            remedy="name an importable function as 'package.module:function'",
        ) from None
    if not callable(found):
        raise InvalidInputError(
            f"the rule-based fallback {path!r} is not a function",
            field="fallback.rules",
            remedy="name a function taking a dict of features",
        )
    rules: Rules = found
    return rules


def _rules_or_failure(path: str) -> Rules:
    """The rules ``path`` names or, when they cannot be imported, rules that raise why:
    a failing link of the chain, as an unloadable model is, never a failed deployment."""
    try:
        return load_rules(path)
    except InvalidInputError as exc:
        message, remedy = exc.message, exc.remedy

    def unimportable(features: Mapping[str, Any]) -> Any:
        raise BackendUnavailableError(message, code="rules-not-importable", remedy=remedy)

    return unimportable


def build_chain(
    primary: ServedModel,
    *,
    fallback: FallbackSpec,
    fallback_model: ServedModel | None,
    rules: Rules | None,
    timeout_seconds: float,
    breaker_for: Callable[[str], CircuitBreaker],
    executor: Executor | None,
    inline: bool = False,
) -> FallbackChain:
    """The chain primary → fallback model → rules → default of one served version.

    ``inline=True`` runs the model links on the event loop, without a timeout: for
    models on the array fast path (scikit-learn on arrays, ONNX graphs), a prediction
    takes less time than handing it to a worker thread and back, and such a call cannot
    hang. Chains with anything that might block (a pyfunc model, rules code, a DataFrame
    path) keep the thread pool, where ``timeout_seconds`` can abandon a hung call.
    """
    # Inline calls cannot be interrupted, so they carry no timeout (and no future).
    timeout = None if inline else timeout_seconds
    links = [
        Link(
            "primary",
            primary.predict,
            timeout_seconds=timeout,
            breaker=breaker_for("primary"),
            validate=check_model_outputs,
            inline=inline,
        )
    ]
    if fallback_model is not None:
        links.append(
            Link(
                "fallback",
                fallback_model.predict,
                timeout_seconds=timeout,
                breaker=breaker_for("fallback"),
                validate=check_model_outputs,
                inline=inline,
            )
        )
    if rules is not None:
        links.append(
            Link(
                "rules",
                _rules_call(rules),
                timeout_seconds=timeout_seconds,
                validate=check_model_outputs,
            )
        )
    if fallback.default is not None:
        # Inline: a default answer must never queue behind hung model threads.
        name = ESCALATED if fallback.escalate else "default"
        links.append(Link(name, _default_call(fallback.default), inline=True))
    return FallbackChain(links, executor=executor)


def _rules_call(rules: Rules) -> Callable[[list[dict[str, Any]]], list[Output]]:
    def call(rows: list[dict[str, Any]]) -> list[Output]:
        outputs: list[Output] = []
        for row in rows:
            answer = rules(row)
            if isinstance(answer, Mapping):
                outputs.append(
                    {
                        "prediction": answer.get("prediction"),
                        "probability": answer.get("probability"),
                    }
                )
            else:
                outputs.append({"prediction": answer, "probability": None})
        return outputs

    return call


def _default_call(default: Mapping[str, Any]) -> Callable[[list[dict[str, Any]]], list[Output]]:
    answer: Output = {
        "prediction": default["prediction"],
        "probability": default.get("probability"),
    }

    def call(rows: list[dict[str, Any]]) -> list[Output]:
        return [dict(answer) for _ in rows]

    return call
