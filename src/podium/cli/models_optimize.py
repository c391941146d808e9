"""``podium models optimize``: register the ONNX conversion of a version, with its report.

``--distill student=KIND`` registers a small student trained on the version's
predictions instead, and ``--prune`` the tree ensemble without the trees it does not
need; both through the same sample, agreement gate and report.

The comparison sample is read from the lake: ``--sample TABLE`` (or ``TABLE@VERSION``),
by default the first table version the source version's run read. Up to
:data:`SAMPLE_ROWS` rows of the signature's columns are used; labels too when the run
names its target column (a ``target`` tag or param) and the table has it.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.table import Table

from podium.cli.context import cli_state
from podium.cli.render import console, table, working
from podium.data.names import TableRef
from podium.errors import InvalidInputError
from podium.platform import Platform
from podium.registry.types import ModelVersion

if TYPE_CHECKING:
    import pandas as pd

    from podium.registry.conversion import Comparison

__all__ = ["SAMPLE_ROWS", "comparison_table", "optimize", "read_sample"]

SAMPLE_ROWS = 1_000


def optimize(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The model.")],
    version: Annotated[
        int,
        typer.Argument(
            help="A version of it: scikit-learn, XGBoost or LightGBM for --to onnx, any "
            "for --distill, a scikit-learn tree ensemble for --prune.",
            min=1,
        ),
    ],
    to: Annotated[Literal["onnx"], typer.Option("--to", help="The target format (onnx).")] = "onnx",
    quantize: Annotated[
        Literal["int8"] | None,
        typer.Option("--quantize", help="Quantize weights dynamically (int8)."),
    ] = None,
    sample: Annotated[
        str | None,
        typer.Option(
            "--sample",
            help="Lake table (TABLE or TABLE@VERSION) to compare on; default: the first "
            "table the version's run read.",
            show_default=False,
        ),
    ] = None,
    threshold: Annotated[
        float,
        typer.Option("--threshold", min=0.0, max=1.0, help="Least share of agreeing rows."),
    ] = 0.99,
    distill: Annotated[
        str | None,
        typer.Option(
            "--distill",
            help="Instead of converting: train a small student on the version's "
            "predictions, student=tree|linear|small-gbm (optionally ,max_depth=N).",
            show_default=False,
        ),
    ] = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Instead of converting: drop the trees of a scikit-learn forest or "
            "gradient boosting that the predictions do not need.",
        ),
    ] = False,
) -> None:
    """Convert a scikit-learn, XGBoost or LightGBM version to ONNX, distill or prune it;
    register the result if it agrees with the version."""
    if distill is not None or prune:
        _distill_or_prune(ctx, f"{name}/{version}", distill, prune, quantize, sample, threshold)
        return
    # Imported here, not at the top: `podium models ls` loads this module too, and the
    # converters bring pandas and numpy (ADR 0015).
    from podium.registry.optimization import check_optimizable, optimize_version

    platform = cli_state(ctx).platform()
    source = check_optimizable(platform.registry.get_version(f"{name}/{version}"))
    with working(f"converting {source.ref} to ONNX and comparing them"), quiet_onnxruntime():
        features, labels = read_sample(platform, source, sample)
        optimized, comparison = optimize_version(
            platform.registry,
            source.ref,
            sample=features,
            labels=labels,
            quantize=quantize,
            threshold=threshold,
        )
    out = console()
    out.print(comparison_table(comparison, source=source.ref, candidate=optimized.ref))
    out.print(
        f"registered {optimized.ref} ({optimized.tags.get('optimized', to)}), "
        f"derived from {source.ref}"
    )


def _distill_or_prune(
    ctx: typer.Context,
    ref: str,
    distill: str | None,
    prune: bool,
    quantize: str | None,
    sample: str | None,
    threshold: float,
) -> None:
    """``--distill`` or ``--prune``: the same sample, gate and report as ``--to onnx``."""
    if (distill is not None and prune) or quantize is not None:
        raise InvalidInputError(
            "--distill, --prune and --quantize each make a different version; got "
            + " and ".join(
                flag
                for flag, given in (
                    ("--distill", distill is not None),
                    ("--prune", prune),
                    ("--quantize", quantize is not None),
                )
                if given
            ),
            field="distill" if distill is not None else "prune",
            remedy="pass one of them per command",
        )
    from podium.registry.optimization import distill_version, prune_version

    platform = cli_state(ctx).platform()
    source = platform.registry.get_version(ref)
    what = f"distilling {source.ref}" if distill is not None else f"pruning {source.ref}"
    with working(f"{what} and comparing"):
        features, labels = read_sample(platform, source, sample)
        if distill is not None:
            made, comparison = distill_version(
                platform.registry,
                source.ref,
                sample=features,
                student=distill,
                labels=labels,
                threshold=threshold,
            )
        else:
            made, comparison = prune_version(
                platform.registry, source.ref, sample=features, labels=labels, threshold=threshold
            )
    out = console()
    out.print(comparison_table(comparison, source=source.ref, candidate=made.ref))
    trees = f", {made.tags['trees']} trees kept" if "trees" in made.tags else ""
    out.print(
        f"registered {made.ref} ({made.tags.get('optimized', '')}{trees}), "
        f"derived from {source.ref}"
    )


@contextlib.contextmanager
def quiet_onnxruntime() -> Iterator[None]:
    """Keep onnxruntime's own warnings out of the command's output while it runs.

    Its quantizer logs advice on the root logger ("consider to run pre-processing before
    quantization") and its C++ core warns about graph details: nothing the user can act on
    here, where the comparison table says whether the conversion is good.
    """
    root = logging.getLogger()
    root.addFilter(_not_from_onnxruntime)
    runtime: Any = None
    with contextlib.suppress(ImportError):  # the onnx extra; check_optimizable says so
        runtime = importlib.import_module("onnxruntime")
    if runtime is not None:
        runtime.set_default_logger_severity(_ORT_ERROR)
    try:
        yield
    finally:
        root.removeFilter(_not_from_onnxruntime)
        if runtime is not None:
            runtime.set_default_logger_severity(_ORT_WARNING)


_ORT_WARNING, _ORT_ERROR = 2, 3  # onnxruntime's logger severities


def _not_from_onnxruntime(record: logging.LogRecord) -> bool:
    return f"{os.sep}onnxruntime{os.sep}" not in record.pathname


def read_sample(
    platform: Platform, source: ModelVersion, sample: str | None
) -> tuple[pd.DataFrame, pd.Series[int] | None]:
    """Up to :data:`SAMPLE_ROWS` rows of the signature's columns, and labels if known."""
    ref = sample or next((r for r in source.inputs if TableRef.find(r)), None)
    if ref is None:
        raise InvalidInputError(
            f"{source.ref} records no table it was trained on, so there is no default sample",
            field="sample",
            remedy="pass --sample TABLE, a lake table with the model's input columns",
        )
    found = TableRef.find(ref)
    if found is None:
        raise InvalidInputError(
            f"the sample must be a lake table like raw.customers or raw.customers@3; "
            f"got {ref!r} instead",
            field="sample",
            remedy="pass --sample TABLE or --sample TABLE@VERSION",
        )
    frame = platform.data.read(found.table, version=found.version).to_pandas()
    if len(frame) > SAMPLE_ROWS:
        frame = frame.sample(n=SAMPLE_ROWS, random_state=0)
    columns = [spec["name"] for spec in (source.signature or {}).get("inputs", [])]
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"the sample table {ref} has no column '{missing[0]}', which {source.ref} reads",
            field="sample",
            remedy="pass --sample TABLE, a lake table with the columns " + ", ".join(columns),
        )
    target = _target(platform, source)
    labels = frame[target] if target is not None and target in frame.columns else None
    return frame[columns], labels


def comparison_table(comparison: Comparison, *, source: str, candidate: str) -> Table:
    """Size, latency, agreement and accuracy delta of ``candidate`` beside ``source``."""
    out = table(
        f"{candidate} vs {source} on {comparison.rows:,} sample rows",
        "",
        source,
        candidate,
        "change",
    )
    for label, before, after, unit in (
        ("size", comparison.size_bytes_source, comparison.size_bytes_candidate, "bytes"),
        (
            "latency, 1 row",
            comparison.latency_single_ms_source,
            comparison.latency_single_ms_candidate,
            "ms",
        ),
        (
            "latency, 1,000 rows",
            comparison.latency_batch_1000_ms_source,
            comparison.latency_batch_1000_ms_candidate,
            "ms",
        ),
    ):
        out.add_row(label, _amount(before, unit), _amount(after, unit), _ratio(before, after))
    out.add_row("agreement", "", f"{comparison.agreement:.2%}", "")
    delta = comparison.accuracy_delta
    out.add_row("accuracy delta", "", "-" if delta is None else f"{delta:+.2%}", "")
    return out


def _amount(value: float, unit: str) -> str:
    return f"{value:,.0f} B" if unit == "bytes" else f"{value:.2f} ms"


def _ratio(before: float, after: float) -> str:
    if before <= 0:
        return "-"
    return f"{after / before:.2f}x"


def _target(platform: Platform, source: ModelVersion) -> str | None:
    """The label column the run that trained ``source`` names, if any."""
    if source.run_id is None:
        return None
    run = platform.tracking.get_run(source.run_id)
    return run.tags.get("target") or run.params.get("target")
