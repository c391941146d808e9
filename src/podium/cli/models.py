"""``podium models``: the model registry from the command line, embedded or on a server.

Versions are named by refs: ``churn/3`` (a version), ``churn@production`` (the version in
a stage) or ``churn@champion`` (an alias). Moving a version to staging or production is a
request that an approver decides with ``approve`` or ``reject``; ``optimize`` registers
the ONNX conversion of a scikit-learn version beside it (see
:mod:`podium.cli.models_optimize`).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from podium.cli import webhooks
from podium.cli.context import ApiKeyOption, ProjectOption, UrlOption, cli_state
from podium.cli.models_optimize import optimize
from podium.cli.render import (
    console,
    format_datetime,
    format_mapping,
    format_number,
    short_id,
    table,
)
from podium.registry.types import ModelVersion, TransitionRequest

__all__ = ["app"]

app = typer.Typer(
    help="Registered models: versions, stages and approvals, aliases, lineage, optimization."
)
app.command("optimize")(optimize)
app.add_typer(webhooks.app, name="webhooks")

_STAGE_STYLE = {"production": "bold green", "staging": "yellow", "archived": "dim"}
_STATUS_STYLE = {"applied": "green", "approved": "green", "pending": "yellow", "rejected": "red"}

RefArgument = Annotated[
    str, typer.Argument(help="A version: NAME/VERSION, NAME@STAGE or NAME@ALIAS.")
]
CommentOption = Annotated[str, typer.Option("--comment", "-m", help="Why (kept in the audit).")]


@app.command("ls")
def list_models(
    ctx: typer.Context,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    project: ProjectOption = None,
) -> None:
    """List the registered models with their newest version and aliases."""
    platform = cli_state(ctx).platform(url=url, api_key=api_key, project=project)
    models = platform.registry.list_models()
    if not models:
        console().print(f"no registered models in project {platform.project!r}")
        return
    out = table(
        f"models in project {platform.project!r}",
        "name",
        "latest",
        "aliases",
        "description",
        "created (UTC)",
    )
    for model in models:
        out.add_row(
            model.name,
            "-" if model.latest_version is None else str(model.latest_version),
            ", ".join(f"{alias}={v}" for alias, v in sorted(model.aliases.items())) or "-",
            model.description or "-",
            format_datetime(model.created_at),
        )
    console().print(out)


@app.command("show")
def show(
    ctx: typer.Context,
    ref: RefArgument,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    project: ProjectOption = None,
) -> None:
    """Show one version: stage, aliases, metrics, inputs, signature and lineage."""
    registry = cli_state(ctx).platform(url=url, api_key=api_key, project=project).registry
    version = registry.get_version(ref)
    console().print(Group(*_version_sections(version)))


@app.command("transition")
def transition(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The model.")],
    version: Annotated[int, typer.Argument(help="The version to move.", min=1)],
    stage: Annotated[str, typer.Argument(help="staging, production, archived or none.")],
    comment: CommentOption = "",
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    project: ProjectOption = None,
) -> None:
    """Request moving a version to a stage; the model's policy says who must approve."""
    registry = cli_state(ctx).platform(url=url, api_key=api_key, project=project).registry
    _print_request(registry.request_transition(name, version, stage, comment=comment))


@app.command("approve")
def approve(
    ctx: typer.Context,
    request_id: Annotated[str, typer.Argument(help="The transition request.")],
    comment: CommentOption = "",
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    project: ProjectOption = None,
) -> None:
    """Approve a transition request (not your own); applied once the policy is met."""
    registry = cli_state(ctx).platform(url=url, api_key=api_key, project=project).registry
    _print_request(registry.approve(request_id, comment=comment))


@app.command("reject")
def reject(
    ctx: typer.Context,
    request_id: Annotated[str, typer.Argument(help="The transition request.")],
    comment: CommentOption = "",
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    project: ProjectOption = None,
) -> None:
    """Reject a transition request (or withdraw your own)."""
    registry = cli_state(ctx).platform(url=url, api_key=api_key, project=project).registry
    _print_request(registry.reject(request_id, comment=comment))


@app.command("requests")
def requests(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Only this model's.")] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="pending, approved, rejected or applied."),
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    project: ProjectOption = None,
) -> None:
    """List transition requests, newest first."""
    platform = cli_state(ctx).platform(url=url, api_key=api_key, project=project)
    found = platform.registry.list_requests(name, status=status)
    if not found:
        console().print(f"no transition requests in project {platform.project!r} match")
        return
    out = table(
        "transition requests",
        "id",
        "version",
        "from → to",
        "status",
        "requested by",
        "decided by",
        "created (UTC)",
    )
    out.columns[0].no_wrap = True  # the id is what `approve` and `reject` take: keep it whole
    for request in found:
        out.add_row(
            request.id,
            f"{request.name}/{request.version}",
            f"{request.from_stage} → {request.to_stage}",
            Text(request.status, style=_STATUS_STYLE.get(request.status, "")),
            request.requested_by,
            ", ".join(a.actor for a in request.approvals) or "-",
            format_datetime(request.created_at),
        )
    console().print(out)


@app.command("alias")
def alias(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The model.")],
    alias: Annotated[str, typer.Argument(help="e.g. champion, challenger.")],
    version: Annotated[int, typer.Argument(help="The version the alias points at.", min=1)],
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    project: ProjectOption = None,
) -> None:
    """Point an alias of a model at one of its versions."""
    registry = cli_state(ctx).platform(url=url, api_key=api_key, project=project).registry
    moved = registry.set_alias(name, alias, version)
    console().print(f"{name}@{alias} → {moved.ref}")


@app.command("lineage")
def lineage(
    ctx: typer.Context,
    ref: RefArgument,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    project: ProjectOption = None,
) -> None:
    """Show where a version comes from: versions it derives from, runs, table versions."""
    registry = cli_state(ctx).platform(url=url, api_key=api_key, project=project).registry
    console().print(lineage_tree(registry.lineage(ref)))


def lineage_tree(graph: dict[str, Any]) -> Tree:
    """The lineage graph as a tree rooted at the version, its sources below it."""
    nodes = {node["id"]: node for node in graph["nodes"]}
    sources: dict[str, list[tuple[str, str]]] = {}
    for edge in graph["edges"]:
        sources.setdefault(edge["target"], []).append((edge["source"], edge["kind"]))

    def label(node_id: str, kind: str | None) -> Text:
        node = nodes.get(node_id, {"label": node_id, "kind": "?"})
        text = Text(f"{node['kind']} ", style="dim")
        text.append(str(node["label"]), style="bold" if node["kind"] == "model_version" else "")
        if node["kind"] == "model_version":
            text.append(f"  {node.get('flavor')}, stage {node.get('stage')}", style="dim")
        if kind is not None:
            text.append(f"  ({kind.replace('_', ' ')})", style="dim")
        return text

    root = Tree(label(graph["root"], None))

    def grow(branch: Tree, node_id: str, seen: frozenset[str]) -> None:
        for source, kind in sources.get(node_id, []):
            if source not in seen:
                grow(branch.add(label(source, kind)), source, seen | {source})

    grow(root, graph["root"], frozenset({graph["root"]}))
    return root


def _print_request(request: TransitionRequest) -> None:
    out = console()
    style = _STATUS_STYLE.get(request.status, "")
    out.print(
        f"request {request.id}: {request.name}/{request.version} "
        f"{request.from_stage} → {request.to_stage} is [{style}]{request.status}[/]"
    )
    for approval in request.approvals:
        out.print(f"  {approval.decision} by {approval.actor}" + _comment(approval.comment))
    if request.message:
        out.print(f"  {request.message}")


def _comment(comment: str) -> str:
    return f": {comment}" if comment else ""


def _version_sections(version: ModelVersion) -> list[RenderableType]:
    summary = table(f"model version {version.ref}", "", "")
    summary.show_header = False
    for key, value in (
        ("stage", Text(version.stage, style=_STAGE_STYLE.get(version.stage, ""))),
        ("aliases", ", ".join(version.aliases) or "-"),
        ("flavor", version.flavor),
        ("size", f"{version.artifact_size:,} bytes"),
        ("run", short_id(version.run_id) if version.run_id else "-"),
        ("derived from", version.derived_from or "-"),
        ("code version", version.code_version or "-"),
        ("tags", format_mapping(version.tags) or "-"),
        ("description", version.description or "-"),
        ("created", f"{format_datetime(version.created_at)} UTC by {version.created_by}"),
    ):
        summary.add_row(key, value)
    sections: list[RenderableType] = [summary]
    metrics = table("metrics", "key", "value")
    for key in sorted(version.metrics):
        metrics.add_row(key, format_number(version.metrics[key]))
    inputs = table("inputs", "reference")
    for ref in version.inputs:
        inputs.add_row(ref)
    signature = table("signature", "", "column", "type", "nullable")
    for side in ("inputs", "outputs"):
        for spec in (version.signature or {}).get(side, []):
            signature.add_row(
                side, spec["name"], spec["type"], "yes" if spec.get("nullable") else ""
            )
    for section in (metrics, inputs, signature):
        if section.row_count:
            sections.append(section)
    lineage = [f"trained by run {version.run_id}"] if version.run_id else []
    lineage += [f"read {ref}" for ref in version.inputs]
    if version.derived_from:
        lineage.append(f"derived from {version.derived_from}")
    sections.append(Text("lineage: " + ("; ".join(lineage) or "none recorded")))
    return sections
