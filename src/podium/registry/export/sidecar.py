"""The sidecar export: a bundle, ``serve.py`` serving it on localhost, and the container spec.

``sidecar.yaml`` is a Kubernetes container (to add under a pod's ``containers``) that
installs onnxruntime and numpy into a slim Python image and runs ``serve.py`` from the
bundle mounted at :data:`MOUNT_PATH` (a volume named ``podium-bundle``: an image layer,
a ``ConfigMap`` for a small model, or an init container copying the folder). It listens
on 127.0.0.1 only, so only containers of the same pod reach it; its probes run inside the
container for that reason.
"""

from __future__ import annotations

import json
from pathlib import Path

from podium.registry.export.bundle import Bundle, export_bundle, write_checksums
from podium.registry.protocol import Registry

__all__ = ["MOUNT_PATH", "SIDECAR_FILES", "SIDECAR_PORT", "export_sidecar", "sidecar_container"]

SIDECAR_PORT = 8500
"""The localhost port the sidecar answers on."""

MOUNT_PATH = "/opt/podium-bundle"
"""Where the container expects the bundle folder."""

SIDECAR_FILES = ("serve.py", "sidecar.yaml")
"""What a sidecar export holds beside the bundle's files."""

_SERVE = Path(__file__).with_name("serve_template.py")
_PROBE = (
    "import urllib.request; "
    f"urllib.request.urlopen('http://127.0.0.1:{SIDECAR_PORT}/healthz', timeout=2)"
)


def export_sidecar(
    registry: Registry,
    ref: str,
    out: Path | str,
    *,
    image: str = "python:3.11-slim",
    force: bool = False,
) -> Bundle:
    """Write the bundle of ``ref`` into ``out`` with ``serve.py`` and ``sidecar.yaml``."""
    bundle = export_bundle(registry, ref, out, force=force)
    folder = bundle.path
    (folder / "serve.py").write_text(_SERVE.read_text())
    name = "podium-" + bundle.ref.split("/")[0].lower().replace("_", "-")
    container = sidecar_container(name[:63], image=image)
    (folder / "sidecar.yaml").write_text(
        f"# The sidecar serving {bundle.ref} on http://127.0.0.1:{SIDECAR_PORT} (podium export)\n"
        + container
    )
    write_checksums(folder, ["model.onnx", "signature.json", "predict.py", "serve.py"])
    return Bundle(folder, bundle.ref, bundle.source_flavor, bundle.files + SIDECAR_FILES)


def sidecar_container(name: str, *, image: str) -> str:
    """The Kubernetes container spec of the sidecar, as YAML (add it under a pod's
    ``containers``, beside the application's container)."""
    command = json.dumps(["python", "-c", _PROBE])
    probe = f"  exec:\n    command: {command}\n  periodSeconds: 10\n"
    return f"""name: {json.dumps(name)}
image: {json.dumps(image)}
# A non-root user installs into a folder of its own; bake the two libraries into the
# image instead where pods start often.
command: ["sh", "-c"]
args:
  - >-
    pip install --no-cache-dir --target /tmp/pydeps onnxruntime numpy &&
    exec python {MOUNT_PATH}/serve.py --host 127.0.0.1 --port {SIDECAR_PORT}
env:
  - {{name: PYTHONPATH, value: /tmp/pydeps}}
  - {{name: HOME, value: /tmp}}
workingDir: {MOUNT_PATH}
volumeMounts:
  - {{name: podium-bundle, mountPath: {MOUNT_PATH}, readOnly: true}}
readinessProbe:
{probe}  initialDelaySeconds: 5
livenessProbe:
{probe}  initialDelaySeconds: 60
resources:
  requests: {{cpu: 100m, memory: 128Mi}}
  limits: {{memory: 512Mi}}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  allowPrivilegeEscalation: false
"""
