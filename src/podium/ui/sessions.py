"""The UI's session: a signed cookie, so any replica sharing the server secret reads it.

A session names the principal (actor, project, role and, when it came from a key, the
key's id) and when it ends. It is JSON, base64url-encoded and signed with HMAC-SHA256
under the server secret kept in ``$PODIUM_HOME/ui-secret`` (created on first use,
readable by its owner only). Nothing secret is inside: the API key itself never leaves
the login form. The CSRF token of a session is derived from its random id, so it needs
no storage either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from podium.access.roles import Principal, Role

__all__ = [
    "COOKIE_NAME",
    "SESSION_SECONDS",
    "Session",
    "SessionCodec",
    "load_server_secret",
]

COOKIE_NAME = "podium_session"
SESSION_SECONDS = 12 * 3600
_SECRET_FILE = "ui-secret"


@dataclass(frozen=True)
class Session:
    """Who a browser is logged in as, until ``expires`` (seconds since the epoch)."""

    id: str
    actor: str
    project: str
    project_id: int
    role: str
    key_id: str | None
    expires: float

    @classmethod
    def start(cls, principal: Principal, *, seconds: float = SESSION_SECONDS) -> Session:
        """A new session for ``principal``, with a fresh random id."""
        return cls(
            id=secrets.token_urlsafe(16),
            actor=principal.actor,
            project=principal.project,
            project_id=principal.project_id,
            role=principal.role.value,
            key_id=principal.key_id,
            expires=time.time() + seconds,
        )

    @property
    def principal(self) -> Principal:
        """The caller this session stands for, as the API's key check would make it."""
        return Principal(
            actor=self.actor,
            project_id=self.project_id,
            project=self.project,
            role=Role(self.role),
            key_id=self.key_id,
        )


class SessionCodec:
    """Sign sessions into cookie values, read them back, and derive their CSRF tokens."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, session: Session) -> str:
        """The cookie value of ``session``."""
        body = _b64(json.dumps(asdict(session), separators=(",", ":")).encode())
        return f"{body}.{self._sign('session', body)}"

    def decode(self, value: str | None, *, now: float | None = None) -> Session | None:
        """The session in a cookie value; None when absent, forged, malformed or expired."""
        if not value or value.count(".") != 1:
            return None
        body, signature = value.split(".")
        if not hmac.compare_digest(signature, self._sign("session", body)):
            return None
        try:
            session = Session(**json.loads(_unb64(body)))
        except (ValueError, TypeError):
            return None
        if session.expires <= (time.time() if now is None else now):
            return None
        return session

    def csrf_token(self, session_id: str) -> str:
        """The token every form of session ``session_id`` must carry."""
        return self._sign("csrf", session_id)

    def check_csrf(self, session_id: str, token: str | None) -> bool:
        """Whether ``token`` is the CSRF token of session ``session_id``."""
        return bool(token) and hmac.compare_digest(self.csrf_token(session_id), token or "")

    def _sign(self, purpose: str, text: str) -> str:
        digest = hmac.new(self._secret, f"{purpose}:{text}".encode(), hashlib.sha256).digest()
        return _b64(digest)


def load_server_secret(home: Path) -> bytes:
    """The UI's signing secret under ``home``, created (mode 0600) on first use.

    Servers sharing ``home`` share the secret, so a session works on any of them; a
    replica with its own home needs a copy of this file.
    """
    path = home / _SECRET_FILE
    home.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written aside, then linked into place: a racing server never reads half a file.
        draft = home / f".{_SECRET_FILE}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_bytes(32).hex())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another server made it first; theirs is the one
        finally:
            draft.unlink()
    return bytes.fromhex(path.read_text().strip())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
