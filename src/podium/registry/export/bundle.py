"""The edge bundle: an ONNX graph, its signature, checksums and a standalone ``predict.py``.

A scikit-learn version is converted with :func:`~podium.registry.conversion.to_onnx`
(the same path as ``podium models optimize``); an ONNX version is written as it is
registered. Other flavors (pyfunc: arbitrary Python) cannot run on onnxruntime alone and
are refused with the way out. ``predict.py`` is ``predict_template.py`` (beside this
module) copied as it is: it imports nothing of podium.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from podium import __version__
from podium.errors import InvalidInputError
from podium.registry.conversion import to_onnx
from podium.registry.protocol import Registry

__all__ = ["BUNDLE_FILES", "Bundle", "export_bundle", "write_checksums"]

BUNDLE_FILES = ("model.onnx", "signature.json", "predict.py", "SHA256SUMS")
"""What a bundle folder holds."""

_EXPORTABLE = ("sklearn", "onnx")
_PREDICT = Path(__file__).with_name("predict_template.py")


@dataclass(frozen=True)
class Bundle:
    """An exported bundle: where it is, what it holds and which version it came from."""

    path: Path
    ref: str
    source_flavor: str
    files: tuple[str, ...]


def export_bundle(registry: Registry, ref: str, out: Path | str, *, force: bool = False) -> Bundle:
    """Write the bundle of version ``ref`` (``name/3``, ``name@production``) into ``out``.

    ``out`` must be missing or empty unless ``force`` (then bundle files are replaced).
    Raises :class:`InvalidInputError` for a flavor other than sklearn or onnx, and what
    :func:`~podium.registry.conversion.to_onnx` raises for a model it cannot convert.
    """
    folder = Path(out)
    check_target(folder, force=force)
    version = registry.get_version(ref)
    if version.flavor not in _EXPORTABLE:
        raise InvalidInputError(
            f"only scikit-learn and ONNX versions can be exported to a bundle; "
            f"{version.ref} is a {version.flavor!r} model",
            field="ref",
            remedy="register the model as scikit-learn or ONNX (a pyfunc model runs "
            "arbitrary Python, which onnxruntime cannot), then export that version",
        )
    model = registry.load(version.ref)
    if version.flavor == "sklearn":
        graph = to_onnx(model.model, model.signature)
    else:
        graph = bytes(model.model.data)
    signature = {
        "model": version.name,
        "version": version.version,
        "ref": version.ref,
        "source_flavor": version.flavor,
        "inputs": [{"name": c.name, "type": c.type} for c in model.signature.inputs],
        "classes": None if model.classes is None else [_plain(c) for c in model.classes],
        "podium_version": __version__,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(graph)
    (folder / "signature.json").write_text(json.dumps(signature, indent=2) + "\n")
    (folder / "predict.py").write_text(_PREDICT.read_text())
    write_checksums(folder, ["model.onnx", "signature.json", "predict.py"])
    return Bundle(folder, version.ref, version.flavor, BUNDLE_FILES)


def check_target(folder: Path, *, force: bool) -> None:
    """Refuse a ``folder`` that is a file, or holds files, unless ``force``."""
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(
            f"{folder} is a file; a bundle is written into a folder",
            field="out",
            remedy="pass a new or empty folder to --out",
        )
    if not force and folder.is_dir() and any(folder.iterdir()):
        raise InvalidInputError(
            f"{folder} is not empty",
            field="out",
            remedy="pass a new or empty folder to --out, or --force to replace the bundle",
        )


def write_checksums(folder: Path, names: list[str]) -> None:
    """``SHA256SUMS`` of ``names`` in ``folder``, in ``sha256sum -c``'s format."""
    lines = [f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}" for n in names]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
