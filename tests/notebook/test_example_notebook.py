"""The example notebook (docs/notebooks/quickstart.ipynb) runs from top to bottom in a
real Jupyter kernel, and its results display as rich HTML with the UI's charts."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[2] / "docs" / "notebooks" / "quickstart.ipynb"


def test_the_example_notebook_runs_and_shows_rich_results(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error

    html = [
        output["data"]["text/html"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "text/html" in output.get("data", {})
    ]
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    shown = "\n".join(html)
    # table, runs, run, version, model card, lineage, drift
    assert len(html) == 7, [h[:80] for h in html]
    assert shown.count("<svg") >= 6
    assert "drift per feature" in shown and "params and metrics" in shown
    assert "<script" not in shown and "http" not in shown
    assert (
        "DriftResult('churn', status='drift'"
        in notebook.cells[-2].outputs[-1]["data"]["text/plain"]
    )
