"""Which locations fill a shipment: fewest splits, nearest first (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Protocol

from app.inventory import geo

MAX_EXACT_CANDIDATES = 40

MAX_EXACT_SPLITS = 3


@dataclass(frozen=True, slots=True)
class Candidate:
    location: str
    kind: str  # "store" | "warehouse"
    distance_km: float | None  # None when the destination has no coordinates
    available: Mapping[str, int]  # sku -> units this location may give


class StockRow(Protocol):
    """What a stock read says of one SKU at one location."""

    @property
    def location(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...
    @property
    def sku_id(self) -> int: ...
    @property
    def available(self) -> int: ...


def candidates_from(
    rows: Iterable[StockRow], skus: Mapping[int, str], origin: tuple[float, float] | None = None
) -> list[Candidate]:
    """One candidate per location of `rows`, in the order they first appear, with what it may
    give of each SKU (`skus` names them by id) and, when there is an `origin`, how far it is."""
    first: dict[str, StockRow] = {}
    available: dict[str, dict[str, int]] = {}
    for row in rows:
        first.setdefault(row.location, row)
        available.setdefault(row.location, {})[skus[row.sku_id]] = row.available
    return [
        Candidate(
            code,
            row.kind,
            None if origin is None else geo.distance_km(*origin, row.latitude, row.longitude),
            available[code],
        )
        for code, row in first.items()
    ]


@dataclass(frozen=True, slots=True)
class Shortage:
    sku: str
    requested: int
    available: int


Allocation = dict[str, list[tuple[str, int]]]
"""sku -> [(location, quantity)]"""


def preference(candidate: Candidate, warehouses_first: bool) -> tuple[int, float, str]:
    kind_rank = 0 if (candidate.kind == "warehouse") == warehouses_first else 1
    distance = candidate.distance_km if candidate.distance_km is not None else float("inf")
    return kind_rank, distance, candidate.location


def shortages(lines: Sequence[tuple[str, int]], candidates: Sequence[Candidate]) -> list[Shortage]:
    """Lines that all candidates together cannot fill."""
    short = []
    for sku, quantity in lines:
        total = sum(c.available.get(sku, 0) for c in candidates)
        if total < quantity:
            short.append(Shortage(sku, quantity, total))
    return short


def source_shipment(
    lines: Sequence[tuple[str, int]],
    candidates: Sequence[Candidate],
    warehouses_first: bool = True,
) -> Allocation | None:
    """Allocate every line from as few locations as possible; None if stock is short."""
    usable = sorted(
        (c for c in candidates if any(c.available.get(sku, 0) > 0 for sku, _ in lines)),
        key=lambda c: preference(c, warehouses_first),
    )
    if shortages(lines, usable):
        return None
    if len(usable) <= MAX_EXACT_CANDIDATES:
        for size in range(1, min(MAX_EXACT_SPLITS, len(usable)) + 1):
            best: tuple[tuple[float, ...], Allocation] | None = None
            for group in combinations(usable, size):  # preference order is kept
                allocation = _fill(lines, group)
                if allocation is not None:
                    score = tuple(x for c in group for x in preference(c, warehouses_first)[:2])
                    if best is None or score < best[0]:
                        best = (score, allocation)
            if best is not None:
                return best[1]
    return _fill(lines, _greedy_cover(lines, usable))


def _fill(lines: Sequence[tuple[str, int]], group: Sequence[Candidate]) -> Allocation | None:
    """Take each line from the group's locations in order; None if the group falls short."""
    allocation: Allocation = {}
    for sku, quantity in lines:
        remaining = quantity
        parts = []
        for candidate in group:
            take = min(remaining, candidate.available.get(sku, 0))
            if take > 0:
                parts.append((candidate.location, take))
                remaining -= take
            if remaining == 0:
                break
        if remaining:
            return None
        allocation[sku] = parts
    return allocation


def _greedy_cover(lines: Sequence[tuple[str, int]], usable: Sequence[Candidate]) -> list[Candidate]:
    """Many candidates: keep adding the location that fills the most outstanding units."""
    outstanding = dict(lines)
    chosen: list[Candidate] = []
    pool = list(usable)
    while any(outstanding.values()) and pool:
        best = max(
            pool, key=lambda c: sum(min(q, c.available.get(s, 0)) for s, q in outstanding.items())
        )
        pool.remove(best)
        chosen.append(best)
        outstanding = {
            sku: left - min(left, best.available.get(sku, 0)) for sku, left in outstanding.items()
        }
    return chosen
