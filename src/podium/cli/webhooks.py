"""``podium models webhooks``: where a project's registry events are POSTed, and how it went.

Operator commands, like ``podium keys``: they work on the metadata database directly.
The server (``podium up``) delivers the events, signed with each webhook's secret
(``X-Podium-Signature: sha256=<HMAC of the body>``), retrying failures with backoff.
"""

from __future__ import annotations

from typing import Annotated

import typer

from podium.cli.context import cli_state
from podium.cli.render import console, format_datetime, table
from podium.events import WebhookService

__all__ = ["app"]

app = typer.Typer(help="Webhooks: add (the secret is shown once), ls, rm, deliveries.")

ProjectOption = Annotated[
    str | None, typer.Option("--project", "-p", help="The project; default PODIUM_PROJECT.")
]


def _service(ctx: typer.Context, project: str | None) -> tuple[WebhookService, str]:
    state = cli_state(ctx)
    name = project or state.settings.project
    installation = state.installation()
    # Embedded, a project is created on first use, as podium.connect() does.
    return WebhookService(installation.db, installation.projects.ensure(name)), name


@app.command("add")
def add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="http(s) URL that receives the events.")],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", "-e", help="An event type to send (repeat); default all."),
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Register a webhook and print its signing secret, once."""
    service, name = _service(ctx, project)
    webhook, secret = service.create(url, event_types=event or None)
    cli_state(ctx).record(name, action="create_webhook", target=f"/v1/webhooks/{webhook.id}")
    typer.echo(f"created webhook {webhook.id} -> {webhook.url}")
    typer.echo(secret)
    typer.secho("store this secret now: it is not shown again", fg="yellow", err=True)


@app.command("ls")
def list_webhooks(ctx: typer.Context, project: ProjectOption = None) -> None:
    """List the project's webhooks (secrets are never shown)."""
    service, name = _service(ctx, project)
    out = table(f"webhooks of project {name!r}", "id", "url", "events", "active", "created")
    for hook in service.list():
        out.add_row(
            hook.id,
            hook.url,
            ", ".join(hook.event_types) or "all",
            "yes" if hook.active else "no",
            format_datetime(hook.created_at),
        )
    console().print(out)


@app.command("rm")
def remove(ctx: typer.Context, webhook_id: str, project: ProjectOption = None) -> None:
    """Delete a webhook and its delivery log."""
    service, name = _service(ctx, project)
    service.delete(webhook_id)
    cli_state(ctx).record(name, action="delete_webhook", target=f"/v1/webhooks/{webhook_id}")
    typer.echo(f"deleted webhook {webhook_id}")


@app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    webhook_id: Annotated[str | None, typer.Argument(help="One webhook; default all.")] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=1000, help="How many deliveries.")
    ] = 50,
    project: ProjectOption = None,
) -> None:
    """The delivery log, newest first: event, attempts, status, HTTP status, error."""
    service, _ = _service(ctx, project)
    out = table(
        None,
        "webhook",
        "event",
        "attempt",
        "status",
        "http",
        "error",
        "created",
        long_text=("error",),
    )
    for d in service.deliveries(webhook_id, limit=limit):
        out.add_row(
            d.webhook_id,
            d.event_type,
            str(d.attempt),
            d.status,
            str(d.status_code or ""),
            (d.error or "")[:60],
            format_datetime(d.created_at),
        )
    console().print(out)
