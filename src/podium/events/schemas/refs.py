"""Local references inside one JSON Schema: ``#``, ``#/$defs/name`` and ``#anchor``.

The registry resolves only these: a schema is stored whole, and podium never fetches
another document over the network to check or validate one.
"""

from __future__ import annotations

from typing import Any

__all__ = ["local_refs", "pointer", "resolve_local"]

_MAX_REF_HOPS = 32


def local_refs(schema: Any) -> list[str]:
    """Every ``$ref`` value in ``schema``, at any depth, in document order."""
    found: list[str] = []
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            found.append(ref)
        for key, value in schema.items():
            if key not in ("const", "enum", "default", "examples"):
                found += local_refs(value)
    elif isinstance(schema, list):
        for item in schema:
            found += local_refs(item)
    return found


def resolve_local(schema: Any, root: Any) -> Any:
    """``schema`` with its local ``$ref`` followed (siblings merged over the target)."""
    for _ in range(_MAX_REF_HOPS):
        if not isinstance(schema, dict):
            return schema
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return schema
        target = pointer(root, ref)
        if target is None:
            return schema
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        if not siblings:
            schema = target
        elif isinstance(target, dict):
            schema = {**target, **siblings}
        else:
            schema = target if target is False else siblings
    return schema


def pointer(root: Any, ref: str) -> Any:
    """The part of ``root`` that the local reference ``ref`` (``#/$defs/x``) names."""
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return _anchor(root, ref[1:])
    found = root
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(found, dict) and token in found:
            found = found[token]
        elif isinstance(found, list) and token.isdigit() and int(token) < len(found):
            found = found[int(token)]
        else:
            return None
    return found


def _anchor(root: Any, name: str) -> Any:
    if isinstance(root, dict):
        if root.get("$anchor") == name:
            return root
        children: list[Any] = list(root.values())
    elif isinstance(root, list):
        children = root
    else:
        return None
    for child in children:
        found = _anchor(child, name)
        if found is not None:
            return found
    return None
