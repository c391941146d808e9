"""Model versions and models in a notebook: provenance, stage, metrics as a table and a
chart, and a model's versions with each metric charted across them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from podium.notebook.html import card, charts, facts, number, section, table, text, when
from podium.registry.types import ModelVersion, RegisteredModel
from podium.ui import charts as svg

if TYPE_CHECKING:
    from podium.registry.protocol import Registry

__all__ = ["ModelCard", "model_card", "model_html", "version_html"]

_CHARTED_METRICS = 4


def version_html(version: ModelVersion) -> str:
    """A model version: stage and aliases, where it came from, its metrics and signature."""
    about = facts(
        [
            ("stage", text(version.stage)),
            ("aliases", text(", ".join(version.aliases))),
            ("flavor", text(version.flavor)),
            ("run", text(version.run_id)),
            ("code", text(version.code_version)),
            ("derived from", text(version.derived_from)),
            ("by", text(version.created_by)),
            ("at", when(version.created_at)),
            ("size", f"{version.artifact_size:,} bytes"),
        ]
    )
    metrics = table(
        ["metric", "value"], [[text(k), number(v)] for k, v in sorted(version.metrics.items())]
    )
    bars = (
        charts([svg.bar_chart(sorted(version.metrics.items()), title="metrics")])
        if version.metrics
        else ""
    )
    return card(
        "model version",
        version.ref,
        text(version.description),
        about,
        section("metrics", metrics) if version.metrics else "",
        bars,
        section("inputs", ", ".join(text(i) for i in version.inputs)),
        section("signature", _signature(version)),
    )


def model_html(model: RegisteredModel, versions: Sequence[ModelVersion] | None = None) -> str:
    """A model: its summary and aliases, and with ``versions`` a table of them (newest
    first) and each metric charted by version number."""
    about = facts(
        [
            ("latest version", text(model.latest_version)),
            ("aliases", text(", ".join(f"{a} → {v}" for a, v in sorted(model.aliases.items())))),
            ("created", when(model.created_at)),
            ("tags", text(", ".join(f"{k}={v}" for k, v in sorted(model.tags.items())))),
        ]
    )
    if versions is None:
        return card("model", model.name, text(model.description), about)
    ordered = sorted(versions, key=lambda v: v.version)
    metric_keys = sorted({k for v in ordered for k in v.metrics})
    rows = [
        [text(v.version), text(v.stage), text(", ".join(v.aliases)), text(v.flavor),
         text(v.run_id), when(v.created_at)] + [number(v.metrics.get(k)) for k in metric_keys]
        for v in reversed(ordered)
    ]  # fmt: skip
    listing = table(["version", "stage", "aliases", "flavor", "run", "created", *metric_keys], rows)
    series = [
        svg.line_chart(
            {k: [(float(v.version), v.metrics[k]) for v in ordered if k in v.metrics]},
            title=k,
            x_label="version",
            width=420,
            height=200,
        )
        for k in metric_keys[:_CHARTED_METRICS]
    ]
    return card(
        "model",
        model.name,
        text(model.description),
        about,
        section("versions", listing),
        charts(series) if len(ordered) > 1 else "",
    )


@dataclass(frozen=True)
class ModelCard:
    """A model with its versions, shown as HTML in a notebook (see :func:`model_card`)."""

    model: RegisteredModel
    versions: list[ModelVersion]

    def _repr_html_(self) -> str:
        return model_html(self.model, self.versions)

    def __repr__(self) -> str:
        return f"ModelCard({self.model.name!r}, {len(self.versions)} versions)"


def model_card(registry: Registry, name: str) -> ModelCard:
    """Model ``name`` with all its versions, for display: ``model_card(p.registry, "churn")``.

    Raises :class:`~podium.errors.NotFoundError` for an unknown model.
    """
    return ModelCard(registry.get_model(name), list(registry.list_versions(name)))


def _signature(version: ModelVersion) -> str:
    signature = version.signature or {}
    rows = []
    for side in ("inputs", "outputs"):
        for column in signature.get(side) or []:
            if isinstance(column, dict):
                rows.append(
                    [text(side), text(column.get("name", "")), text(column.get("type", ""))]
                )
    return table(["", "name", "type"], rows) if rows else ""
