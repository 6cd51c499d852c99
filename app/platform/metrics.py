"""Prometheus metrics of the ledger."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client import Counter, Histogram

STOCK_MOVEMENTS = Counter(
    "omnistock_stock_movements_total",
    "Stock movements committed to the ledger, by kind.",
    ["kind"],
)

LEDGER_TRANSACTIONS = Histogram(
    "omnistock_ledger_transaction_seconds",
    "Time from the ledger's first use in a transaction that moved stock to its commit.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

INSUFFICIENT_STOCK = Counter(
    "omnistock_insufficient_stock_total",
    "Requests refused because stock was short.",
)


def record_movements(kinds: Iterable[str], transaction_seconds: float) -> None:
    for kind, count in Tally(kinds).items():
        STOCK_MOVEMENTS.labels(kind=kind).inc(count)
    LEDGER_TRANSACTIONS.observe(transaction_seconds)
