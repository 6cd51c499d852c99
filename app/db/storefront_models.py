"""Tables of the storefront sync (Shopify): storefronts, their location and SKU mappings,
the per-storefront outbox of levels to push, webhook deliveries seen."""

from __future__ import annotations
