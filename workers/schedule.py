"""The periodic jobs and how often each runs; how long without a completed run means the
schedule has stalled (readiness fails then: a deployment without a scheduling worker is loud).
"""

from __future__ import annotations

from app.config import Settings

STALLED_AFTER_INTERVALS = 5
STALLED_AFTER_AT_LEAST_SECONDS = 60.0
"""A job that runs every second is late after a minute, not after five seconds: a queue that
is briefly busy must not take the API out of its load balancer."""


def intervals(settings: Settings) -> dict[str, float]:
    """Every periodic job (its actor's name) and the seconds between two runs."""
    return {
        "purge_idempotency_records": 3600.0,
        "purge_events": 3600.0,
        "expire_orders": 30.0,
        "run_payment_actions": 30.0,
        "send_notifications": 5.0,
        "resolve_shortages": 60.0,
        "flush_due_storefronts": settings.storefront_flush_seconds,
        "process_stored_webhooks": 30.0,
        "reconcile_storefronts": 900.0,
        "sweep_shopify_orders": settings.shopify_order_sweep_seconds,
        "expire_cart_holds": 30.0,
        "deliver_webhooks": settings.webhook_deliver_seconds,
        "purge_webhook_deliveries": 3600.0,
        "audit_books": 300.0,
        "audit_books_in_full": 86400.0,
        "keep_movements_bounded": 3600.0,
    }


def stalled(
    last_runs: dict[str, float], every: dict[str, float], since: float, now: float
) -> list[str]:
    """The jobs that have not completed a run for 5 intervals (or a minute), counting from
    `since` (when the caller started) for those that never ran."""
    late = []
    for name, seconds in every.items():
        allowed = max(STALLED_AFTER_INTERVALS * seconds, STALLED_AFTER_AT_LEAST_SECONDS)
        if now - max(last_runs.get(name, 0.0), since) > allowed:
            late.append(name)
    return late
