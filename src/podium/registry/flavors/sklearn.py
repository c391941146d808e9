"""The ``sklearn`` flavor: scikit-learn estimators and pipelines, persisted with skops.

skops writes a description of the object graph instead of pickle bytecode, and loading
only instantiates types that are trusted. podium trusts exactly the types the file names
that come from scikit-learn, numpy or scipy (plus what skops trusts by default); a file
naming any other type, such as a custom transformer class, is refused.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections import OrderedDict
from typing import Any

from podium.errors import InvalidInputError

__all__ = ["TRUSTED_MODULES", "SklearnFlavor", "trusted_types"]

TRUSTED_MODULES = frozenset({"sklearn", "numpy", "scipy"})


class SklearnFlavor:
    """Saves scikit-learn estimators with ``skops.io`` and loads them with a trust list."""

    name = "sklearn"

    def handles(self, model: object) -> bool:
        """Any scikit-learn estimator, including a Pipeline."""
        # By ancestry rather than isinstance, so deciding costs no scikit-learn import.
        return any(cls.__module__ == "sklearn.base" for cls in type(model).__mro__)

    def save(self, model: Any) -> bytes:
        """The estimator as skops bytes."""
        data: bytes = _skops().dumps(model)
        return data

    def load(self, data: bytes) -> Any:
        """The estimator, refusing any type outside scikit-learn, numpy and scipy."""
        trusted = _trusted_types_cached(hashlib.sha256(data).digest(), data)
        return _skops().loads(data, trusted=trusted)


_TRUSTED_CACHE_SIZE = 256
_trusted_by_digest: OrderedDict[bytes, list[str]] = OrderedDict()


def _trusted_types_cached(digest: bytes, data: bytes) -> list[str]:
    # Listing a file's types parses it; a serving process loads the same versions again.
    found = _trusted_by_digest.get(digest)
    if found is None:
        found = trusted_types(data)
        _trusted_by_digest[digest] = found
        if len(_trusted_by_digest) > _TRUSTED_CACHE_SIZE:  # bounded: a server lives long
            _trusted_by_digest.popitem(last=False)
    return found


def trusted_types(data: bytes) -> list[str]:
    """The types ``data`` needs beyond skops' defaults, if all come from trusted modules.

    Raises :class:`InvalidInputError` naming the first type from any other module.
    """
    try:
        needed: list[str] = _skops().get_untrusted_types(data=data)
    except (zipfile.BadZipFile, ValueError, KeyError) as exc:
        raise InvalidInputError(
            f"the bytes are not a scikit-learn model file (skops): {exc}",
            field="model",
            remedy="upload a file written by the sklearn flavor (skops)",
        ) from exc
    for type_name in needed:
        if type_name.split(".", 1)[0] not in TRUSTED_MODULES:
            raise InvalidInputError(
                f"the model file needs the type '{type_name}', which podium does not "
                "trust; only types from scikit-learn, numpy and scipy are loaded",
                code="untrusted-type",
                remedy="register models built from scikit-learn components only, or wrap "
                "custom code as a 'pyfunc' model",
            )
    return needed


def _skops() -> Any:
    # skops imports scikit-learn (over a second): only saving or loading a model pays it,
    # not every `import podium` or CLI start.
    import skops.io

    return skops.io
