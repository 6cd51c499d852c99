"""Tables of the order book: customers, orders, lines, allocations, events, payments,
notifications, POS transactions, returns."""

from __future__ import annotations
