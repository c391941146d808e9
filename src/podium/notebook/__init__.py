"""Rich notebook displays: the HTML that Jupyter shows for podium's results.

Runs, run pages, model versions, drift, accuracy and fairness results, training sets,
tables and lineage graphs have a ``_repr_html_`` that calls the renderers here (loaded on
first display, so importing podium stays fast). The charts are the web UI's
(:mod:`podium.ui.charts`): inline SVG, no script, no request to anywhere. Every
user-provided string is escaped.

:func:`model_card` and :func:`table_history` show what one result type alone cannot:
a model with its versions, and a table's commit history.
"""

from __future__ import annotations

from podium.notebook.data import table_history
from podium.notebook.registry import model_card

__all__ = ["model_card", "table_history"]
