"""Exporting a model version to run without podium: an edge bundle, or a sidecar.

:func:`export_bundle` writes a folder whose ``predict.py`` needs only onnxruntime and
numpy; :func:`export_sidecar` adds a tiny HTTP server and the Kubernetes container spec
that serves the bundle on localhost beside an application.
"""

from podium.registry.export.bundle import BUNDLE_FILES, Bundle, export_bundle
from podium.registry.export.sidecar import SIDECAR_PORT, export_sidecar

__all__ = ["BUNDLE_FILES", "SIDECAR_PORT", "Bundle", "export_bundle", "export_sidecar"]
