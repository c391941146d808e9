"""The ``torch`` flavor: PyTorch modules saved as TorchScript archives, never pickled.

A ``torch.nn.Module`` is compiled with ``torch.jit.script`` (or, when scripting fails
and an example input is given, ``torch.jit.trace``) and stored as the archive
``torch.jit.save`` writes, with podium's metadata (the class labels of a classifier) in
the archive's ``extra/podium.json``. Loading is ``torch.jit.load``: TorchScript code is
compiled by TorchScript, and the archive's pickles are read by its own C++ unpickler,
which only builds tensors and TorchScript types, so no Python callable a file names ever
runs. Bytes that are not a TorchScript archive (a pickle, or a ``torch.save`` checkpoint)
are refused with an :class:`InvalidInputError`.

The module takes one float32 tensor, one row per input row and one column per signature
column in signature order, and returns one row per input row. Wrap it in
:class:`TorchModel` to declare a classifier (``classes``: ``predict`` is the arg-max
class, ``predict_proba`` the softmax of the logits, or the sigmoid of a single logit for
two classes) or to give the example input tracing needs. Needs the ``torch`` extra.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from podium.errors import InvalidInputError, MissingDependencyError

__all__ = ["TorchFlavor", "TorchModel"]

_META_FILE = "podium.json"
_ZIP_MAGIC = b"PK\x03\x04"


class TorchModel:
    """A PyTorch module with what predicting needs: its class labels and an example input.

    ``module`` is a ``torch.nn.Module`` (or an already scripted or traced one);
    ``classes`` makes it a classifier whose outputs are logits, one column per class (or
    a single logit for two classes); ``example`` (a tensor, array or DataFrame of a few
    rows) is used to trace a module ``torch.jit.script`` cannot compile.
    """

    def __init__(
        self, module: Any, *, classes: Sequence[Any] | None = None, example: Any = None
    ) -> None:
        self.module = module
        self.classes_: list[Any] | None = None if classes is None else list(classes)
        self.example = example
        self.supports_predict_proba = self.classes_ is not None

    def predict(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        """Class labels for a classifier; the module's outputs (one column squeezed) else."""
        outputs = self._forward(frame)
        if self.classes_ is None:
            return outputs[:, 0] if outputs.ndim == 2 and outputs.shape[1] == 1 else outputs
        labels = np.asarray(self.classes_)
        return np.asarray(labels[np.argmax(self._probabilities(outputs), axis=1)])

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        """Class probabilities, one column per class in ``classes_`` order."""
        if self.classes_ is None:
            raise InvalidInputError(
                "this torch model was not registered as a classifier, so it has no predict_proba",
                remedy="call predict, or register TorchModel(module, classes=[...]) to "
                "declare its class labels",
            )
        return self._probabilities(self._forward(frame))

    def _forward(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        torch = _torch()
        matrix = np.ascontiguousarray(frame.to_numpy(dtype=np.float32))
        if not matrix.flags.writeable:  # a read-only view (a served frame): torch warns
            matrix = matrix.copy()
        rows = torch.from_numpy(matrix)
        with torch.inference_mode():
            out = self.module(rows)
        return np.asarray(out.detach().cpu().numpy())

    def _probabilities(self, logits: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        assert self.classes_ is not None
        logits = logits.reshape(len(logits), -1).astype(np.float64)
        if logits.shape[1] == 1 and len(self.classes_) == 2:
            positive = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.column_stack([1.0 - positive, positive])
        if logits.shape[1] != len(self.classes_):
            raise InvalidInputError(
                f"the module returns {logits.shape[1]} logits per row for "
                f"{len(self.classes_)} classes",
                field="classes",
                remedy="register TorchModel(module, classes=...) with one class per output",
            )
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))

    def __repr__(self) -> str:
        kind = "classifier" if self.classes_ is not None else "module"
        return f"TorchModel({type(self.module).__name__}, {kind})"


class TorchFlavor:
    """Saves PyTorch modules as TorchScript archives; loads them with ``torch.jit.load``."""

    name = "torch"

    def handles(self, model: object) -> bool:
        """A :class:`TorchModel` or a ``torch.nn.Module``, recognised without importing torch."""
        if isinstance(model, TorchModel):
            return True
        return any(cls.__module__.split(".")[0] == "torch" for cls in type(model).__mro__)

    def save(self, model: Any) -> bytes:
        """The module as a TorchScript archive with podium's metadata inside."""
        wrapped = model if isinstance(model, TorchModel) else TorchModel(model)
        torch = _torch()
        scripted = _compile(torch, wrapped)
        meta = json.dumps({"classes": _plain(wrapped.classes_)}).encode()
        buffer = io.BytesIO()
        with _jit_deprecation_ignored():
            torch.jit.save(scripted, buffer, _extra_files={_META_FILE: meta})
        return buffer.getvalue()

    def servable(self, model: Any) -> Any:
        """``model`` ready to predict over a DataFrame: a :class:`TorchModel`."""
        return model if isinstance(model, TorchModel) else TorchModel(model)

    def load(self, data: bytes) -> TorchModel:
        """The archive's module in a :class:`TorchModel`; no pickle in it is run."""
        if not data.startswith(_ZIP_MAGIC):
            raise _not_a_model("it is not a zip archive (a pickle, perhaps)")
        torch = _torch()
        extra = {_META_FILE: ""}
        try:
            with _jit_deprecation_ignored():
                module = torch.jit.load(io.BytesIO(data), map_location="cpu", _extra_files=extra)
        except RuntimeError as exc:  # the C++ reader's errors, torch.jit's too
            raise _not_a_model(_first_line(exc) or "TorchScript could not read it") from exc
        module.eval()
        try:
            meta = json.loads(extra[_META_FILE] or "{}")
        except ValueError as exc:
            raise _not_a_model("its podium.json is not JSON") from exc
        classes = meta.get("classes") if isinstance(meta, dict) else None
        return TorchModel(module, classes=classes if isinstance(classes, list) else None)


def _compile(torch: Any, model: TorchModel) -> Any:
    """``model.module`` as TorchScript: scripted, else traced on ``model.example``."""
    module = model.module
    if isinstance(module, torch.jit.ScriptModule):
        return module
    if not isinstance(module, torch.nn.Module):
        raise InvalidInputError(
            f"the torch flavor saves torch.nn.Module objects; got {type(module).__name__}",
            field="model",
            remedy="register a torch.nn.Module, wrapped in TorchModel(...) if it classifies",
        )
    module.eval()
    try:
        with _jit_deprecation_ignored():
            return torch.jit.script(module)
    except Exception as exc:
        if model.example is None:
            raise InvalidInputError(
                f"torch.jit.script cannot compile {type(module).__name__}: {_first_line(exc)}",
                field="model",
                remedy="register TorchModel(module, example=X[:5]) so it can be traced "
                "instead, or make forward() scriptable",
            ) from exc
    example = _as_tensor(torch, model.example)
    with torch.no_grad(), _jit_deprecation_ignored():
        return torch.jit.trace(module, example)


@contextlib.contextmanager
def _jit_deprecation_ignored() -> Iterator[None]:
    """TorchScript warns that it is deprecated (torch 2.10 on) on every call; the archive
    format is what the flavor stores until ``torch.export`` replaces it (ADR 0043)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _as_tensor(torch: Any, example: Any) -> Any:
    if isinstance(example, torch.Tensor):
        return example.to(torch.float32)
    if isinstance(example, pd.DataFrame):
        example = example.to_numpy(dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(np.asarray(example, dtype=np.float32)))


def _plain(classes: list[Any] | None) -> list[Any] | None:
    """Class labels as JSON values (numpy scalars become Python ones)."""
    if classes is None:
        return None
    return [label.item() if isinstance(label, np.generic) else label for label in classes]


def _not_a_model(reason: str) -> InvalidInputError:
    return InvalidInputError(
        f"the bytes are not a TorchScript model archive: {reason}",
        field="model",
        code="not-a-model-file",
        remedy="register the torch.nn.Module itself, or upload a file written by the "
        "torch flavor (torch.jit.save); podium never loads pickles or torch.save "
        "checkpoints as torch",
    )


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise MissingDependencyError("torch", extra="torch") from exc
    return torch
