"""Actors of the storefront sync (Shopify): thin wrappers over app/services/storefronts.py."""

from __future__ import annotations

import workers.broker  # noqa: F401  (installs the broker before the actors bind to it)

PERIODIC: list[tuple[str, float, object]] = []
"""(name, every_seconds, actor) the scheduler enqueues."""
