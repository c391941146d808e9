"""One-time login links: ``podium up`` prints one, the first visit through it logs in.

Like Jupyter's token URL, but the token works once and for a limited time. Only its
sha256 is kept, as a file under ``$PODIUM_HOME/ui-login/`` holding the project and the
expiry; using the link deletes the file, and deleting a file is atomic, so of two
visits at once exactly one logs in. Whoever holds the link becomes an admin of the
server's default project, as whoever can read ``$PODIUM_HOME/credentials`` is.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LINK_SECONDS", "LinkGrant", "consume_login_link", "issue_login_link", "login_url"]

LINK_SECONDS = 3600.0
_FOLDER = "ui-login"


@dataclass(frozen=True)
class LinkGrant:
    """What a used link grants: an admin session of ``project``."""

    project: str


def issue_login_link(home: Path, *, project: str, seconds: float = LINK_SECONDS) -> str:
    """A new one-time token for ``project`` valid for ``seconds``; expired ones are swept."""
    folder = home / _FOLDER
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    _sweep(folder)
    token = secrets.token_urlsafe(32)
    fd = os.open(folder / _digest(token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"project": project, "expires": time.time() + seconds}, handle)
    return token


def login_url(base_url: str, token: str) -> str:
    """The link to print: the UI's login page carrying ``token``."""
    return f"{base_url.rstrip('/')}/ui/login?token={token}"


def consume_login_link(home: Path, token: str) -> LinkGrant | None:
    """Use ``token`` up; what it grants, or None if unknown, used or expired."""
    if not token or len(token) > 128:
        return None
    path = home / _FOLDER / _digest(token)
    try:
        grant = json.loads(path.read_text())
        path.unlink()  # the one visit that deletes it is the one that logs in
    except (OSError, ValueError):
        return None
    if not isinstance(grant, dict) or float(grant.get("expires", 0)) <= time.time():
        return None
    return LinkGrant(project=str(grant["project"]))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _sweep(folder: Path) -> None:
    now = time.time()
    for path in folder.iterdir():
        try:
            if float(json.loads(path.read_text()).get("expires", 0)) <= now:
                path.unlink()
        except (OSError, ValueError, AttributeError):
            continue
