"""``podium models``: the model registry from the command line, embedded or on a server.

Versions are named by refs: ``churn/3`` (a version), ``churn@production`` (the version in
a stage) or ``churn@champion`` (an alias). Moving a version to staging or production is a
request that an approver decides with ``approve`` or ``reject``; ``optimize`` registers
the ONNX conversion of a scikit-learn version beside it (see
:mod:`podium.cli.models_optimize`).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from podium.cli import webhooks
from podium.cli.context import cli_state
from podium.cli.models_export import export
from podium.cli.models_optimize import optimize
from podium.cli.render import (
    console,
    format_datetime,
    format_mapping,
    format_number,
    short_id,
    table,
)
from podium.data.catalog.models import MAX_DEPTH
from podium.registry.types import ModelLineage, ModelVersion, TransitionRequest

__all__ = ["app"]

app = typer.Typer(
    help="Registered models: versions, stages and approvals, aliases, lineage, optimization."
)
app.command("optimize")(optimize)
app.command("export")(export)
# Webhooks carry every event now, so they are `podium webhooks`; this place keeps working.
app.add_typer(webhooks.app, name="webhooks", hidden=True)

_STAGE_STYLE = {"production": "bold green", "staging": "yellow", "archived": "dim"}
_STATUS_STYLE = {"applied": "green", "approved": "green", "pending": "yellow", "rejected": "red"}

RefArgument = Annotated[
    str, typer.Argument(help="A version: NAME/VERSION, NAME@STAGE or NAME@ALIAS.")
]
CommentOption = Annotated[str, typer.Option("--comment", "-m", help="Why (kept in the audit).")]


@app.command("ls")
def list_models(
    ctx: typer.Context,
) -> None:
    """List the registered models: newest version, the versions in staging and production,
    aliases."""
    platform = cli_state(ctx).platform()
    registry = platform.registry
    models = registry.list_models()
    if not models:
        console().print(f"no registered models in project {platform.project!r}")
        return
    out = table(
        f"models in project {platform.project!r}",
        "name",
        "latest",
        "stages",
        "aliases",
        "description",
        long_text=("description",),
    )
    for model in models:
        staged = [
            f"{v.stage}={v.version}"
            for v in sorted(registry.list_versions(model.name), key=_stage_order)
            if v.stage in _STAGE_ORDER
        ]
        out.add_row(
            model.name,
            "-" if model.latest_version is None else str(model.latest_version),
            Text(", ".join(staged) or "-"),
            ", ".join(f"{alias}={v}" for alias, v in sorted(model.aliases.items())) or "-",
            model.description or "-",
        )
    console().print(out)


_STAGE_ORDER = {"production": 0, "staging": 1}
"""The stages ``models ls`` shows, in order (archived versions are left out)."""


def _stage_order(version: ModelVersion) -> tuple[int, int]:
    return _STAGE_ORDER.get(version.stage, len(_STAGE_ORDER)), -version.version


@app.command("show")
def show(
    ctx: typer.Context,
    ref: RefArgument,
) -> None:
    """Show one version: stage, aliases, metrics, inputs, signature and lineage."""
    registry = cli_state(ctx).platform().registry
    version = registry.get_version(ref)
    console().print(Group(*_version_sections(version)))


@app.command("transition")
def transition(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The model.")],
    version: Annotated[int, typer.Argument(help="The version to move.", min=1)],
    stage: Annotated[str, typer.Argument(help="staging, production, archived or none.")],
    comment: CommentOption = "",
) -> None:
    """Request moving a version to a stage; the model's policy says who must approve."""
    registry = cli_state(ctx).platform().registry
    _print_request(registry.request_transition(name, version, stage, comment=comment))


@app.command("approve")
def approve(
    ctx: typer.Context,
    request_id: Annotated[str, typer.Argument(help="The transition request.")],
    comment: CommentOption = "",
) -> None:
    """Approve a transition request (not your own); applied once the policy is met."""
    registry = cli_state(ctx).platform().registry
    _print_request(registry.approve(request_id, comment=comment))


@app.command("reject")
def reject(
    ctx: typer.Context,
    request_id: Annotated[str, typer.Argument(help="The transition request.")],
    comment: CommentOption = "",
) -> None:
    """Reject a transition request (or withdraw your own)."""
    registry = cli_state(ctx).platform().registry
    _print_request(registry.reject(request_id, comment=comment))


@app.command("requests")
def requests(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Only this model's.")] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="pending, approved, rejected or applied."),
    ] = None,
) -> None:
    """List transition requests, newest first."""
    platform = cli_state(ctx).platform()
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
) -> None:
    """Point an alias of a model at one of its versions."""
    registry = cli_state(ctx).platform().registry
    moved = registry.set_alias(name, alias, version)
    console().print(f"{name}@{alias} → {moved.ref}")


@app.command("lineage")
def lineage(
    ctx: typer.Context,
    ref: RefArgument,
    depth: Annotated[
        int,
        typer.Option(
            "--depth", "-d", min=0, max=MAX_DEPTH, help="How many edges to follow each way."
        ),
    ] = MAX_DEPTH,
) -> None:
    """Show where a version comes from (its run, training set, down to the raw tables,
    versions it derives from) and what uses it (deployments, derived versions)."""
    registry = cli_state(ctx).platform().registry
    graph = registry.lineage(ref, depth=depth)
    console().print(lineage_tree(graph))
    if graph.get("truncated"):
        console().print("the graph is larger than shown: the walk stopped at its node limit")


_KIND_SHOWN = {"table_version": "table", "feature_view": "feature view"}


def lineage_tree(graph: ModelLineage) -> Tree:
    """The lineage graph as a tree rooted at the version: its sources below it (and
    theirs below them), then a ``used by`` branch with what it feeds."""
    nodes = {node["id"]: node for node in graph["nodes"]}
    sources: dict[str, list[tuple[str, str]]] = {}
    uses: dict[str, list[tuple[str, str]]] = {}
    for edge in graph["edges"]:
        uses.setdefault(edge["source"], []).append((edge["target"], edge["kind"]))
        if edge["kind"] != "version_of":  # a version's table is no input of it
            sources.setdefault(edge["target"], []).append((edge["source"], edge["kind"]))

    def label(node_id: str, kind: str | None) -> Text:
        node = nodes.get(node_id, {"label": node_id, "kind": "?"})
        text = Text(f"{_KIND_SHOWN.get(node['kind'], node['kind'])} ", style="dim")
        text.append(str(node["label"]), style="bold" if node["kind"] == "model_version" else "")
        if node["kind"] == "model_version" and "stage" in node:
            text.append(f"  {node.get('flavor')}, stage {node.get('stage')}", style="dim")
        if kind is not None:
            text.append(f"  ({kind.replace('_', ' ')})", style="dim")
        return text

    def grow(
        branch: Tree, node_id: str, links: dict[str, list[tuple[str, str]]], seen: set[str]
    ) -> None:
        for other, kind in sorted(links.get(node_id, [])):
            if other in seen:
                branch.add(label(other, kind).append(" (shown above)", style="dim"))
                continue
            seen.add(other)
            grow(branch.add(label(other, kind)), other, links, seen)

    root_id = graph["root"]
    root = Tree(label(root_id, None))
    grow(root, root_id, sources, {root_id})
    if uses.get(root_id):
        grow(root.add(Text("used by", style="bold")), root_id, uses, {root_id})
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
    summary = table(f"model version {version.ref}", "", "", wide=True)
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
    inputs = table("inputs", "reference", wide=True)
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
