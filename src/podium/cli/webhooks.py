"""``podium webhooks``: where a project's events are POSTed, and how it went.

Embedded by default, on a server with ``--url`` (the key needs the admin role), like
``podium runs``: the commands call ``p.webhooks`` (:class:`podium.events.webhooks.Webhooks`).
A webhook gets every event type, or those given with ``--event`` (``podium webhooks
events`` lists them). The server (``podium up``) delivers the events, signed with each
webhook's secret (``X-Podium-Signature: sha256=<HMAC of the body>``), retrying failures
with backoff; ``podium webhooks test`` sends a signed test event at once. The group is
also reachable as ``podium models webhooks``, its earlier place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from podium.cli.context import cli_state
from podium.cli.render import JsonOption, console, format_datetime, print_json, table

if TYPE_CHECKING:  # `podium models ls` loads this module too: no httpx at start-up
    from podium.events.webhooks import Webhooks

__all__ = ["app"]

app = typer.Typer(
    help="Webhooks: add (the secret is shown once), ls, rm, test, deliveries, events.",
    no_args_is_help=True,
)

WebhookId = Annotated[str, typer.Argument(help="The webhook's id (see `podium webhooks ls`).")]


def _webhooks(ctx: typer.Context) -> tuple[Webhooks, str]:
    platform = cli_state(ctx).platform()
    return platform.webhooks, platform.project


@app.command("add")
def add(
    ctx: typer.Context,
    receiver: Annotated[
        str, typer.Argument(metavar="URL", help="http(s) URL that receives the events.")
    ],
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event", "-e", help="An event type to send (repeat; see `events`); default all."
        ),
    ] = None,
    allow_http: Annotated[
        bool,
        typer.Option("--allow-http", help="Accept a plain http:// URL (events travel in clear)."),
    ] = False,
) -> None:
    """Register a webhook and print its signing secret, once (https:// URLs only,
    unless --allow-http)."""
    webhooks, _ = _webhooks(ctx)
    webhook, secret = webhooks.create(receiver, event_types=event or None, allow_http=allow_http)
    typer.echo(f"created webhook {webhook.id} -> {webhook.url}")
    typer.echo(secret)
    typer.secho("store this secret now: it is not shown again", fg="yellow", err=True)


@app.command("ls")
def list_webhooks(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the project's webhooks (secrets are never shown)."""
    webhooks, project = _webhooks(ctx)
    found = webhooks.list()
    if as_json:
        print_json([hook.model_dump(mode="json") for hook in found])
        return
    out = table(f"webhooks of project {project!r}", "id", "url", "events", "active", "created")
    for hook in found:
        out.add_row(
            hook.id,
            hook.url,
            ", ".join(hook.event_types) or "all",
            "yes" if hook.active else "no",
            format_datetime(hook.created_at),
        )
    console().print(out)


app.command("list", hidden=True)(list_webhooks)  # as every other group has it


@app.command("rm")
def remove(ctx: typer.Context, webhook_id: WebhookId) -> None:
    """Delete a webhook and its delivery log."""
    webhooks, _ = _webhooks(ctx)
    webhooks.delete(webhook_id)
    typer.echo(f"deleted webhook {webhook_id}")


@app.command("test")
def test(ctx: typer.Context, webhook_id: WebhookId) -> None:
    """Send a signed test event to a webhook now and show how its receiver answered."""
    webhooks, _ = _webhooks(ctx)
    result = webhooks.test(webhook_id)
    if result.ok:
        typer.echo(
            f"{result.url} answered HTTP {result.status_code} in {result.duration_ms:.0f} ms"
        )
        return
    typer.secho(f"error: the test event to {result.url} failed: {result.error}", fg="red", err=True)
    typer.echo("hint: check that the receiver runs and answers 2xx to a POST", err=True)
    raise typer.Exit(1)


@app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    webhook_id: Annotated[str | None, typer.Argument(help="One webhook; default all.")] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=1000, help="How many deliveries.")
    ] = 50,
) -> None:
    """The delivery log, newest first: event, attempts, status, HTTP status, error."""
    webhooks, _ = _webhooks(ctx)
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
    for d in webhooks.deliveries(webhook_id, limit=limit):
        status = Text(d.status, style="green" if d.status == "delivered" else "")
        out.add_row(
            d.webhook_id,
            d.event_type,
            str(d.attempt),
            status,
            str(d.status_code or ""),
            (d.error or "")[:60],
            format_datetime(d.created_at),
        )
    console().print(out)


@app.command("events")
def events(ctx: typer.Context) -> None:
    """Every event type a webhook can subscribe to (`add --event TYPE`), and its meaning."""
    webhooks, _ = _webhooks(ctx)
    out = table(None, "event type", "when", long_text=("when",))
    for kind in webhooks.event_types():
        out.add_row(kind.type, kind.description)
    console().print(out)
