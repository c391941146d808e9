"""The cache key of a step: what it runs, on what, with what.

``sha256`` of a canonical JSON document holding the step's code (its source without
decorators, formatting or comments, as :func:`ast.unparse` prints it; the bytecode when
there is no source), its parameters (canonical JSON, or the sha256 of their pickle when
they are not JSON), its inputs (the digests of the upstream outputs) and the lake table
versions it reads. Only the step's own function counts: a helper it calls is not hashed.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import pickle
import textwrap
from collections.abc import Callable, Mapping, Sequence
from types import CodeType
from typing import Any

__all__ = ["cache_key", "canonical", "code_hash"]


def code_hash(function: Callable[..., Any]) -> str:
    """sha256 of ``function``'s code, blind to decorators, comments and formatting."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
        tree = ast.parse(source)
        defined = tree.body[0]
        if isinstance(defined, ast.FunctionDef | ast.AsyncFunctionDef):
            defined.decorator_list = []
        text = ast.unparse(defined)
    except (OSError, TypeError, SyntaxError, IndexError):  # no source: a REPL, a .pyc only
        text = _bytecode_text(function.__code__)
    return hashlib.sha256(text.encode()).hexdigest()


def _bytecode_text(code: CodeType) -> str:
    parts = [code.co_code.hex(), repr(code.co_names), repr(code.co_varnames)]
    for const in code.co_consts:
        parts.append(_bytecode_text(const) if isinstance(const, CodeType) else repr(const))
    return "|".join(parts)


def canonical(value: Any) -> Any:
    """``value`` as canonical JSON-able data: itself when it is JSON, else its pickle's sha256."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return (
            value if value == value and value not in (float("inf"), float("-inf")) else repr(value)
        )
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: canonical(value[key]) for key in sorted(value)}
    try:
        data = pickle.dumps(value, protocol=5)
    except Exception as exc:  # any pickling failure means "cannot be hashed"
        raise TypeError(f"{type(value).__name__} cannot be pickled: {exc}") from exc
    return {"$pickle": hashlib.sha256(data).hexdigest(), "$type": type(value).__qualname__}


def cache_key(
    *,
    code: str,
    params: Mapping[str, Any],
    inputs: Sequence[str],
    tables: Sequence[str],
) -> str:
    """sha256 of the step's code hash, canonical params, input digests and pinned tables."""
    document = {
        "code": code,
        "params": params,
        "inputs": sorted(inputs),
        "tables": sorted(tables),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
