"""Errors of the Admin API client."""

from __future__ import annotations

import urllib.error

from app.storefronts.ports import GatewayError


class ShopifyError(GatewayError):
    """A call to Shopify did not succeed."""


class ShopifyUnavailable(ShopifyError):
    """Shopify kept failing (5xx, 429, network, throttling) after bounded retries."""


class ShopifyRequestRejected(ShopifyError):
    """Shopify refused the request itself (4xx other than 429, or GraphQL errors)."""


def read_error(error: urllib.error.HTTPError) -> str:
    try:
        return bytes(error.read()[:300]).decode(errors="replace")
    except Exception:
        return ""
