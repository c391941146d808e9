"""Webhook URLs and secrets at rest: resealing them under the current encryption key.

:class:`~podium.events.webhooks.WebhookService` seals a webhook's URL and signing secret
as it stores them; this brings older rows along: those written in clear before encryption
at rest (migration 0018) and those sealed with a key being rotated out.
"""

from __future__ import annotations

import base64

from sqlalchemy import select

from podium.events.tables import WebhookRow
from podium.store.database import Database
from podium.store.encryption import SEALED_PREFIX, Keyring, open_secret, seal_secret
from podium.store.envelope import read_header

__all__ = ["reseal_webhook_secrets"]


def reseal_webhook_secrets(db: Database, keyring: Keyring) -> int:
    """Seal every webhook URL and secret of every project under the primary key.

    Returns how many webhooks were rewritten; a webhook already sealed with the primary
    key is left alone. Raises EncryptionKeyError if a value's key is not in the keyring.
    """
    primary = keyring.primary.id
    changed = 0
    with db.write() as session:
        for row in session.scalars(select(WebhookRow).order_by(WebhookRow.id)):
            if _sealed_with(row.url) == primary and _sealed_with(row.secret) == primary:
                continue
            url = open_secret(keyring, row.url, what=f"the url of webhook {row.id}")
            secret = open_secret(keyring, row.secret, what=f"the secret of webhook {row.id}")
            row.url = seal_secret(keyring, url)
            row.secret = seal_secret(keyring, secret)
            changed += 1
    return changed


def _sealed_with(stored: str) -> str | None:
    """The key id a stored value is sealed with; None for plaintext."""
    if not stored.startswith(SEALED_PREFIX):
        return None
    header = read_header(base64.urlsafe_b64decode(stored[len(SEALED_PREFIX) :]))
    return None if header is None else header.key_id
