"""Batch inference (``p.batch``): score a lake table version with a registered model.

Modules: ``protocol`` (the interface of ``p.batch``), ``types`` (what it returns),
``service`` (the embedded service: checks, tracking, lineage), ``model`` (which model a
reference or a deployment names, and its online features), ``parts`` (the source version
split into deterministic parts), ``scoring`` (vectorised predictions on Arrow batches),
``output`` (each part one idempotent Delta append), ``runners`` (local and Ray),
``records`` and ``tables`` (jobs and their committed parts in the metadata DB).
"""
