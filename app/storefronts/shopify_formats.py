"""Shopify's global ids and webhook signatures: the formats its storefronts speak (stdlib only)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

_GID = re.compile(r"^gid://shopify/(?P<type>[A-Za-z]+)/(?P<id>[0-9]{1,20})$")


def shopify_gid(value: str | int, type_name: str) -> str | None:
    """`gid://shopify/<type>/<n>` for a gid of that type or a bare numeric id; else None."""
    text = str(value).strip()
    if text.isdigit() and 0 < len(text) <= 20:
        return f"gid://shopify/{type_name}/{text}"
    match = _GID.match(text)
    if match is None or match["type"] != type_name:
        return None
    return text


def webhook_signature_valid(secret: str, body: bytes, signature: str | None) -> bool:
    """Shopify signs the raw body: base64(HMAC-SHA256(secret, body))."""
    if not signature or not secret:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode())
