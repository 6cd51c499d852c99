"""Storefront secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key from
`OMNISTOCK_SECRET_KEY`.

The variable holds one or more comma-separated secrets (any text; each is stretched to a
Fernet key with SHA-256); the first encrypts, all decrypt, so a key can be rotated by
putting the new one first. With no key configured a fixed, publicly known development key
is used and a warning is logged: a first run works, but production must set the variable.
"""

from __future__ import annotations

import base64
import hashlib
import threading

import structlog
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = structlog.get_logger("omnistock.credentials")

DEVELOPMENT_SECRET = "omnistock-development-key-do-not-use-in-production"


class SecretUnreadable(Exception):
    """A stored secret was encrypted under a key that is no longer configured."""


def _fernet_key(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


class SecretBox:
    def __init__(self, secret_key: str | None) -> None:
        secrets = [part.strip() for part in (secret_key or "").split(",") if part.strip()]
        self.uses_development_key = not secrets
        if self.uses_development_key:
            secrets = [DEVELOPMENT_SECRET]
        self._fernet = MultiFernet([Fernet(_fernet_key(s)) for s in secrets])

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(
                "a storefront secret cannot be decrypted with OMNISTOCK_SECRET_KEY"
            ) from None


_boxes: dict[str | None, SecretBox] = {}
_lock = threading.Lock()


def secret_box(secret_key: str | None) -> SecretBox:
    """One box per configured key; the development-key warning is logged once."""
    with _lock:
        box = _boxes.get(secret_key)
        if box is None:
            box = _boxes[secret_key] = SecretBox(secret_key)
            if box.uses_development_key:
                log.warning(
                    "OMNISTOCK_SECRET_KEY is not set: storefront tokens and secrets are "
                    "encrypted with the built-in development key; set it in production"
                )
        return box
