"""The one guard against path traversal: user-given logical paths become safe relative paths.

Every path a user names inside a run or a project (an artifact like ``plots/roc.png``, a
project root like ``projects/churn``) passes through :func:`safe_relative_path` before it
is joined to a folder, a bucket prefix or a URL. What comes out is a normalised POSIX
relative path that cannot leave the root it is joined to.
"""

from __future__ import annotations

import re
from typing import NoReturn

from podium.errors import InvalidInputError

__all__ = ["safe_relative_path"]

_REMEDY = (
    "use a relative path inside the run/project with '/' separators and no '..' segments, "
    "e.g. 'plots/confusion.png'"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"[A-Za-z]:")


def safe_relative_path(path: str) -> str:
    """Normalise a logical path to a POSIX relative path that stays inside its root.

    Empty and ``.`` segments and a trailing ``/`` are dropped, so ``"./model/"`` becomes
    ``"model"`` and ``"plots//roc.png"`` becomes ``"plots/roc.png"``.

    Raises:
        InvalidInputError: (field ``path``) for a path that is empty, absolute (``/etc``,
            ``C:/x``, ``//server/share``), contains a ``..`` segment, a backslash, a NUL or
            another control character, or is not a string.
    """
    if not isinstance(path, str):
        _refuse(path, f"expected a string, got {type(path).__name__}")
    if not path.strip():
        _refuse(path, "it is empty")
    if _CONTROL.search(path):
        _refuse(path, "it contains a NUL or another control character")
    if "\\" in path:
        _refuse(path, "it contains a backslash ('\\'); only '/' separates folders")
    if path.startswith("/"):
        _refuse(path, "it is absolute")
    if _DRIVE.match(path):
        _refuse(path, "it starts with a drive letter")
    segments = [segment for segment in path.split("/") if segment not in ("", ".")]
    if ".." in segments:
        _refuse(path, "it contains a '..' segment, which could leave its root")
    if not segments:
        _refuse(path, "it names no file or folder")
    return "/".join(segments)


def _refuse(path: object, reason: str) -> NoReturn:
    shown = repr(path)
    if len(shown) > 200:
        shown = shown[:200] + "..."
    raise InvalidInputError(
        f"{shown} is not a safe relative path: {reason}", field="path", remedy=_REMEDY
    )
