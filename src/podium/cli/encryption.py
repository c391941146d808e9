"""``podium encryption``: the key artifacts and stored secrets are encrypted with at rest.

``podium encryption status`` shows the key and how many blobs each key seals;
``podium encryption rotate`` makes a new key (home-kept keys), reseals every blob and
webhook secret under it with a progress bar while servers keep running, then retires the
old key; ``podium encryption new-key`` prints a fresh key for ``PODIUM_ENCRYPTION_KEY``.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from podium.cli.context import cli_state
from podium.cli.render import console, table
from podium.errors import InvalidInputError, PodiumError
from podium.events.webhook_secrets import reseal_webhook_secrets
from podium.store.artifacts import ResealableStore
from podium.store.encryption import Keyring, generate_key
from podium.store.rotation import reseal_blobs, retire_old_keys, start_rotation

if TYPE_CHECKING:
    from podium.platform import Installation

__all__ = ["app"]

app = typer.Typer(
    help="Encryption at rest: status, rotate the key (reseals every artifact), new-key."
)


def _keyring(installation: Installation) -> Keyring:
    keyring = installation.keyring
    if keyring is None:
        raise InvalidInputError(
            "encryption at rest is off (PODIUM_ENCRYPTION=off)",
            field="encryption",
            remedy="unset PODIUM_ENCRYPTION (it defaults to on) to use encryption commands",
        )
    return keyring


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Show the encryption key (by id), where it comes from, and what each key seals."""
    installation = cli_state(ctx).installation()
    keyring = _keyring(installation)
    storage = installation.storage
    counts: Counter[str] = Counter()
    if isinstance(storage, ResealableStore):
        for prefix, digest in storage.blob_digests():
            child = storage.child(prefix) if prefix else storage
            assert isinstance(child, ResealableStore)
            try:
                counts[child.key_id_of(digest) or "(plaintext)"] += 1
            except PodiumError:
                counts["(unreadable)"] += 1
    out = table("encryption at rest", "key id", "role", "blobs")
    primary = keyring.primary.id
    for kid in keyring.key_ids():
        out.add_row(kid, "primary" if kid == primary else "old (read only)", str(counts[kid]))
    for other in sorted(set(counts) - set(keyring.key_ids())):
        out.add_row(other, "not held", str(counts[other]))
    console().print(out)
    typer.echo(f"keys from {keyring.source}; storage {storage.url}")


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    keep_old: Annotated[
        bool,
        typer.Option("--keep-old", help="Keep the old key readable after resealing."),
    ] = False,
) -> None:
    """Make a new key, reseal every artifact and stored secret under it, retire the old key.

    Servers keep running meanwhile: they read with both keys and seal with the new one.
    With PODIUM_ENCRYPTION_KEY, set the new key there first (old one in
    PODIUM_ENCRYPTION_OLD_KEYS); this then reseals everything under it.
    """
    installation = cli_state(ctx).installation()
    keyring = _keyring(installation)
    if keyring.home is not None:
        old = keyring.primary.id
        new = start_rotation(keyring)
        typer.echo(f"new key {new.id} (old key {old} stays readable until resealing ends)")
    else:
        typer.echo(f"resealing under PODIUM_ENCRYPTION_KEY (key {keyring.primary.id})")
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("resealing artifacts", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        blobs = reseal_blobs(installation.storage, progress=advance)
    secrets = reseal_webhook_secrets(installation.db, keyring)
    typer.echo(
        f"resealed {blobs.resealed} of {blobs.total} artifacts and {secrets} webhooks "
        f"under key {keyring.primary.id}"
    )
    if blobs.failed:
        for where, reason in sorted(blobs.failed.items())[:20]:
            typer.echo(f"  could not reseal {where}: {reason}", err=True)
        raise InvalidInputError(
            f"{len(blobs.failed)} artifacts could not be resealed, so the old keys are kept",
            field="encryption_key",
            remedy="restore or delete those blobs, then run `podium encryption rotate` again",
        )
    if keep_old:
        typer.echo("old keys kept (--keep-old)")
    elif keyring.home is not None:
        retired = retire_old_keys(keyring)
        if retired:
            typer.echo(f"retired old keys {', '.join(retired)}")
    else:
        typer.echo("done: remove PODIUM_ENCRYPTION_OLD_KEYS from the environment now")


@app.command("new-key")
def new_key() -> None:
    """Print a new random key (base64) for PODIUM_ENCRYPTION_KEY, and its id on stderr."""
    key = generate_key()
    typer.echo(key.encoded())
    typer.echo(f"key id {key.id}", err=True)
