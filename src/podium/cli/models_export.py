"""``podium models export REF --to bundle|sidecar --out DIR``: a version to run without podium.

``bundle`` writes ``model.onnx``, ``signature.json``, ``SHA256SUMS`` and ``predict.py``
(onnxruntime and numpy only); ``sidecar`` adds ``serve.py`` and ``sidecar.yaml``, the
Kubernetes container serving the bundle on localhost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from podium.cli.context import cli_state
from podium.cli.models_optimize import quiet_onnxruntime
from podium.cli.render import working

__all__ = ["export"]


def export(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="A version: NAME/VERSION, NAME@STAGE or NAME@ALIAS.")],
    to: Annotated[
        Literal["bundle", "sidecar"],
        typer.Option("--to", help="bundle (a folder for on-device use) or sidecar."),
    ],
    out: Annotated[Path, typer.Option("--out", help="The folder to write (new or empty).")],
    image: Annotated[
        str, typer.Option("--image", help="The sidecar container's Python image.")
    ] = "python:3.11-slim",
    force: Annotated[
        bool, typer.Option("--force", help="Replace the files of a bundle already in --out.")
    ] = False,
) -> None:
    """Export a scikit-learn or ONNX version as a bundle needing only onnxruntime and numpy."""
    # Imported here: the conversion brings numpy and, for scikit-learn versions, skl2onnx.
    from podium.registry.export import export_bundle, export_sidecar

    platform = cli_state(ctx).platform()
    with working(f"exporting {ref} to {out}"), quiet_onnxruntime():
        if to == "sidecar":
            bundle = export_sidecar(platform.registry, ref, out, image=image, force=force)
        else:
            bundle = export_bundle(platform.registry, ref, out, force=force)
    typer.echo(f"exported {bundle.ref} to {bundle.path}: {', '.join(bundle.files)}")
    typer.echo(f"try it: python {bundle.path / 'predict.py'} rows.json")
