"""Drift of a deployment's live inputs and predictions from its reference.

:mod:`.detect` compares a window of the inference log with the reference profile,
column by column (:mod:`.columns`), with the statistical test that fits each column's
type and size (:mod:`.statistics`: Kolmogorov-Smirnov, chi-squared, PSI, ...),
and :mod:`.status` names the one status (drift, ok, n/a) every renderer shows.
"""
