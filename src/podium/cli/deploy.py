"""``podium deploy``: deployments and their rollouts, embedded or on a server.

    podium deploy create churn@production --fallback-model churn/2 --default '{"prediction": 0}'
    podium deploy ls
    podium deploy status churn
    podium deploy canary churn 4 --weight 0.05 --sticky-key customer_id
    podium deploy promote churn          # or: rollback
    podium deploy shadow churn 5         # --stop to end it
    podium deploy switch churn --stage 5 # blue-green: stage green, then switch

Every change is stored, evented, and followed by serving processes without a restart.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Group

from podium.cli.context import cli_state
from podium.cli.render import console, format_datetime, table
from podium.errors import InvalidInputError
from podium.serving.control.spec import BatchingSpec, BreakerSpec, CacheSpec, Deployment, Traffic

__all__ = ["app"]

app = typer.Typer(help="Deployments: create, roll out (canary, blue-green, shadow), roll back.")

NameArgument = Annotated[str, typer.Argument(help="The deployment (the model_id clients send).")]
ReasonOption = Annotated[str, typer.Option("--reason", "-m", help="Why (kept in the history).")]

# The SDK's defaults, shown by `deploy create --help`.
_BREAKER = BreakerSpec()
_CACHE = CacheSpec()
_BATCHING = BatchingSpec()


def _json_option(text: str | None, option: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InvalidInputError(
            f"{option} must be a JSON object; got {text!r} instead",
            field=option.lstrip("-"),
            remedy=f"""pass e.g. {option} '{{"prediction": 0}}'""",
        )
    return value


@app.command("create")
def create(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="NAME@STAGE, NAME@ALIAS or NAME/VERSION.")],
    name: Annotated[str | None, typer.Option("--name", help="Default: the model's name.")] = None,
    fallback_model: Annotated[
        str | None, typer.Option("--fallback-model", help="A model ref tried second.")
    ] = None,
    rules: Annotated[
        str | None, typer.Option("--rules", help="module:function tried after the models.")
    ] = None,
    default: Annotated[
        str | None, typer.Option("--default", help="JSON response of last resort.")
    ] = None,
    timeout_ms: Annotated[float, typer.Option("--timeout-ms", help="Per model call.")] = 1000.0,
    batching: Annotated[
        bool, typer.Option("--batching/--no-batching", help="Dynamic batching.")
    ] = False,
    max_batch_size: Annotated[
        int, typer.Option("--max-batch-size", min=1, help="Most requests in one model call.")
    ] = _BATCHING.max_batch_size,
    max_wait_ms: Annotated[
        float,
        typer.Option("--max-wait-ms", min=0, help="Longest wait for a batch to fill (ms)."),
    ] = _BATCHING.max_wait_ms,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Response cache.")] = True,
    cache_ttl: Annotated[
        float, typer.Option("--cache-ttl", help="Seconds a cached response is kept.")
    ] = _CACHE.ttl_seconds,
    cache_max_entries: Annotated[
        int, typer.Option("--cache-max-entries", min=1, help="Most responses cached.")
    ] = _CACHE.max_entries,
    cache_similarity: Annotated[
        float | None,
        typer.Option(
            "--cache-similarity",
            help="Also answer from the nearest cached request within this L2 distance of "
            "the features (numeric features; default: exact matches only).",
            show_default=False,
        ),
    ] = None,
    breaker_failure_rate: Annotated[
        float,
        typer.Option(
            "--breaker-failure-rate", help="Share of failed calls that opens a model's breaker."
        ),
    ] = _BREAKER.failure_rate,
    breaker_window: Annotated[
        float,
        typer.Option("--breaker-window", help="Seconds of calls the failure rate is taken over."),
    ] = _BREAKER.window_seconds,
    breaker_min_calls: Annotated[
        int, typer.Option("--breaker-min-calls", help="Fewest calls in the window to judge by.")
    ] = _BREAKER.min_calls,
    breaker_cooldown: Annotated[
        float,
        typer.Option("--breaker-cooldown", help="Seconds an open breaker waits before probing."),
    ] = _BREAKER.cooldown_seconds,
    breaker_probes: Annotated[
        int,
        typer.Option("--breaker-probes", help="Successful probes that close a half-open breaker."),
    ] = _BREAKER.half_open_probes,
    breaker_restore: Annotated[
        float,
        typer.Option(
            "--breaker-restore", help="Seconds over which traffic ramps back after it closes."
        ),
    ] = _BREAKER.restore_seconds,
    feature: Annotated[
        list[str] | None, typer.Option("--feature", help="Online feature view:name (repeat).")
    ] = None,
    entity_key: Annotated[
        list[str] | None, typer.Option("--entity-key", help="Entity key in requests (repeat).")
    ] = None,
    alias: Annotated[
        list[str] | None,
        typer.Option("--alias", help="Another name clients may send as model_id (repeat)."),
    ] = None,
    log_inferences: Annotated[
        bool,
        typer.Option(
            "--log-inferences/--no-log-inferences", help="Keep every prediction for monitoring."
        ),
    ] = True,
) -> None:
    """Deploy a model version with its fallback chain, breaker, cache and batching settings."""
    platform = cli_state(ctx).platform()
    fallback = {
        "model": fallback_model,
        "rules": rules,
        "default": _json_option(default, "--default"),
    }
    created = platform.deployments.create(
        name,
        model=model,
        fallback=fallback,
        timeout_ms=timeout_ms,
        breaker={
            "failure_rate": breaker_failure_rate,
            "window_seconds": breaker_window,
            "min_calls": breaker_min_calls,
            "cooldown_seconds": breaker_cooldown,
            "half_open_probes": breaker_probes,
            "restore_seconds": breaker_restore,
        },
        batching={
            "enabled": batching,
            "max_batch_size": max_batch_size,
            "max_wait_ms": max_wait_ms,
        },
        cache={
            "enabled": cache,
            "ttl_seconds": cache_ttl,
            "max_entries": cache_max_entries,
            "similarity_threshold": cache_similarity,
        },
        features=feature or [],
        entity_keys=entity_key or [],
        aliases=alias or [],
        log_inferences=log_inferences,
    )
    _print_deployment(created)


@app.command("ls")
def list_deployments(
    ctx: typer.Context,
) -> None:
    """List the deployments with the versions they serve."""
    platform = cli_state(ctx).platform()
    found = platform.deployments.list()
    if not found:
        console().print(f"no deployments in project {platform.project!r}")
        return
    out = table(
        f"deployments in project {platform.project!r}",
        "name",
        "model",
        "traffic",
        "generation",
        "updated (UTC)",
    )
    for deployment in found:
        out.add_row(
            deployment.name,
            deployment.spec.model,
            _traffic(deployment.traffic),
            str(deployment.generation),
            format_datetime(deployment.updated_at),
        )
    console().print(out)


@app.command("status")
def status(
    ctx: typer.Context,
    name: NameArgument,
) -> None:
    """Show a deployment: its settings, traffic and the history of its changes."""
    platform = cli_state(ctx).platform()
    deployment = platform.deployments.get(name)
    _print_deployment(deployment)
    history = table(
        "history",
        "generation",
        "action",
        "traffic",
        "reason",
        "by",
        "at (UTC)",
        long_text=("reason",),
    )
    for change in platform.deployments.history(name):
        history.add_row(
            str(change.generation),
            change.action,
            _traffic(change.traffic),
            change.reason or "-",
            change.actor,
            format_datetime(change.created_at),
        )
    console().print(history)


@app.command("canary")
def canary(
    ctx: typer.Context,
    name: NameArgument,
    version: Annotated[str, typer.Argument(help="The version (number or ref) to canary.")],
    weight: Annotated[
        float | None, typer.Option("--weight", min=0, max=1, help="Share (first step).")
    ] = None,
    sticky_key: Annotated[
        str | None, typer.Option("--sticky-key", help="Feature pinning a caller's route.")
    ] = None,
    steps: Annotated[
        str | None, typer.Option("--steps", help="Comma-separated weights, e.g. 0.05,0.5,1")
    ] = None,
    step_seconds: Annotated[
        float, typer.Option("--step-seconds", min=0.001, help="Seconds between automatic steps.")
    ] = 60.0,
    auto: Annotated[
        bool, typer.Option("--auto/--manual", help="Step, promote and roll back by itself.")
    ] = True,
    step: Annotated[
        bool, typer.Option("--step", help="Move a running canary to --weight or its next step.")
    ] = False,
) -> None:
    """Start a canary of VERSION (or, with --step, move the running one up)."""
    deployments = cli_state(ctx).platform().deployments
    if step:
        _print_deployment(deployments.step(name, weight=weight))
        return
    try:
        schedule = [float(s) for s in steps.split(",")] if steps else None
    except ValueError:
        raise InvalidInputError(
            f"--steps must be comma-separated numbers; got {steps!r} instead",
            field="steps",
            remedy="pass e.g. --steps 0.05,0.25,0.5,1",
        ) from None
    target: int | str = int(version) if version.isdigit() else version
    _print_deployment(
        deployments.canary(
            name,
            target,
            weight=weight,
            sticky_key=sticky_key,
            steps=schedule,
            step_seconds=step_seconds,
            auto=auto,
        )
    )


@app.command("promote")
def promote(
    ctx: typer.Context,
    name: NameArgument,
    reason: ReasonOption = "",
) -> None:
    """Make the canary (or staged green) version stable; the old one is kept as blue."""
    deployments = cli_state(ctx).platform().deployments
    _print_deployment(deployments.promote(name, reason=reason))


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    name: NameArgument,
    reason: ReasonOption = "",
) -> None:
    """Drop the canary, or go back to the blue (previous) version at once."""
    deployments = cli_state(ctx).platform().deployments
    _print_deployment(deployments.rollback(name, reason=reason))


@app.command("shadow")
def shadow(
    ctx: typer.Context,
    name: NameArgument,
    version: Annotated[str | None, typer.Argument(help="The version to mirror traffic to.")] = None,
    stop: Annotated[bool, typer.Option("--stop", help="Stop mirroring.")] = False,
) -> None:
    """Mirror live traffic to VERSION: its answers are recorded, never returned."""
    if version is None and not stop:
        raise InvalidInputError(
            "name the version to shadow, or pass --stop",
            field="version",
            remedy="e.g. podium deploy shadow churn 5",
        )
    deployments = cli_state(ctx).platform().deployments
    target: int | str | None = None
    if not stop and version is not None:
        target = int(version) if version.isdigit() else version
    _print_deployment(deployments.shadow(name, target))


@app.command("switch")
def switch(
    ctx: typer.Context,
    name: NameArgument,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Stage this version as green (no switch yet).")
    ] = None,
) -> None:
    """Blue-green: --stage VERSION loads it as green (mirrored); without it, switch to green."""
    deployments = cli_state(ctx).platform().deployments
    if stage is not None:
        _print_deployment(deployments.stage(name, int(stage) if stage.isdigit() else stage))
        return
    _print_deployment(deployments.switch(name))


def _traffic(traffic: Traffic) -> str:
    parts = [f"stable {traffic.stable}"]
    if traffic.canary is not None:
        parts.append(f"canary {traffic.canary.version} at {traffic.canary.weight:.0%}")
    if traffic.green is not None:
        parts.append(f"green {traffic.green}")
    if traffic.shadow is not None and traffic.shadow != traffic.green:
        parts.append(f"shadow {traffic.shadow}")
    if traffic.blue is not None:
        parts.append(f"blue {traffic.blue}")
    return ", ".join(parts)


def _print_deployment(deployment: Deployment) -> None:
    spec = deployment.spec
    chain = ["primary"]
    if spec.fallback.model:
        chain.append(f"fallback {spec.fallback.model}")
    if spec.fallback.rules:
        chain.append(f"rules {spec.fallback.rules}")
    if spec.fallback.default is not None:
        chain.append("default")
    out = table(f"deployment {deployment.name!r}", "setting", "value", wide=True)
    out.add_row("model", spec.model)
    out.add_row("traffic", _traffic(deployment.traffic))
    out.add_row("fallback chain", " → ".join(chain))
    out.add_row("timeout", f"{spec.timeout_ms:g} ms")
    breaker = spec.breaker
    out.add_row(
        "breaker",
        f"opens at {breaker.failure_rate:.0%} failures of {breaker.min_calls}+ calls in "
        f"{breaker.window_seconds:g} s; probes after {breaker.cooldown_seconds:g} s",
    )
    cache = spec.cache
    similar = (
        f", similar within {cache.similarity_threshold:g}"
        if cache.similarity_threshold is not None
        else ""
    )
    out.add_row(
        "cache",
        f"ttl {cache.ttl_seconds:g} s, {cache.max_entries} entries{similar}"
        if cache.enabled
        else "off",
    )
    out.add_row(
        "batching",
        f"up to {spec.batching.max_batch_size}, wait {spec.batching.max_wait_ms:g} ms"
        if spec.batching.enabled
        else "off",
    )
    if spec.aliases:
        out.add_row("aliases", ", ".join(spec.aliases))
    if not spec.log_inferences:
        out.add_row("inference log", "off")
    if spec.features:
        out.add_row("online features", ", ".join(spec.features))
        out.add_row("entity keys", ", ".join(spec.entity_keys) or "-")
    out.add_row("generation", str(deployment.generation))
    console().print(Group(out))
