"""Templates: the Jinja2 environment (autoescaped), page responses and error pages."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from podium.errors import PodiumError
from podium.ui.guard import Viewer

__all__ = ["STATIC_VERSION", "TEMPLATES", "error_page", "page", "static_version"]

_HERE = Path(__file__).parent
TEMPLATES = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def static_version(folder: Path) -> str:
    """A short hash of the files in ``folder``: pages link ``/ui/static/F?v=HASH``, so a
    browser may keep them for good and still fetches them again after an upgrade."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


STATIC_VERSION = static_version(_HERE / "static")


def _millis(value: int | None) -> str:
    if value is None:
        return ""
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _query(base: dict[str, Any], **changes: Any) -> str:
    merged = {**base, **changes}
    return urlencode([(k, v) for k, v in merged.items() if v not in (None, "", [])], doseq=True)


TEMPLATES.filters["millis"] = _millis
TEMPLATES.filters["when"] = _when
TEMPLATES.filters["number"] = _number
TEMPLATES.globals["query"] = _query
TEMPLATES.globals["static_version"] = STATIC_VERSION


def page(
    request: Request, viewer: Viewer | None, template: str, *, status: int = 200, **values: Any
) -> HTMLResponse:
    """Render ``template`` for ``viewer`` (None on the login page)."""
    html = TEMPLATES.get_template(template).render(
        request=request, viewer=viewer, path=request.url.path, **values
    )
    return HTMLResponse(html, status_code=status)


def error_page(
    request: Request, viewer: Viewer | None, error: PodiumError, *, status: int | None = None
) -> HTMLResponse:
    """The page for a :class:`PodiumError`: its status (or ``status``), message and
    remedy, never a trace."""
    status = status or (error.status if 400 <= error.status < 600 else 500)
    return page(request, viewer, "error.html", status=status, error=error)
