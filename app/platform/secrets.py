"""What the contexts need to keep secrets at rest: seal and open text (storefront tokens,
pickup codes waiting in the notification outbox). `app/integrations` implements it."""

from __future__ import annotations

from typing import Protocol


class Secrets(Protocol):
    def seal(self, plaintext: str) -> str: ...

    def open(self, token: str) -> str: ...


SEALED = "sealed:"
"""The prefix of a value stored sealed, so that older rows in clear can still be read."""


def seal(secrets: Secrets, text: str) -> str:
    return SEALED + secrets.seal(text)


def unseal(secrets: Secrets, stored: str) -> str:
    return secrets.open(stored[len(SEALED) :]) if stored.startswith(SEALED) else stored
