"""Pure rules of discovery: which of our SKUs and locations are which in the shop."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.storefronts.ports import ShopLocation, ShopVariant


@dataclass(frozen=True, slots=True)
class OurSku:
    id: int
    sku: str
    barcode: str | None


@dataclass(frozen=True, slots=True)
class OurLocation:
    id: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class ItemMatches:
    new: dict[int, str]  # sku id → inventory item gid, not mapped before
    mapped: int  # SKUs mapped after this run (kept and new)
    unmatched_ours: list[str]
    unmatched_theirs: list[ShopVariant]


@dataclass(frozen=True, slots=True)
class LocationMatch:
    location: ShopLocation
    matched: str | None  # our location code


def _key(value: str | None) -> str | None:
    return value.strip().casefold() or None if value else None


def _unique_index(values: Iterable[tuple[str | None, ShopVariant]]) -> dict[str, ShopVariant]:
    """Key → variant, leaving out keys two variants share (ambiguous, so never guessed)."""
    pairs = [(key, variant) for key, variant in values if key is not None]
    counts = Counter(key for key, _ in pairs)
    return {key: variant for key, variant in pairs if counts[key] == 1}


def match_items(
    ours: Iterable[OurSku], theirs: Iterable[ShopVariant], existing: Mapping[int, str]
) -> ItemMatches:
    """Keep existing mappings whose inventory item the shop still has; map the rest by SKU,
    else by barcode (case and surrounding spaces ignored). A shop item is given to one SKU
    at most, and a SKU or barcode two shop variants share matches neither."""
    variants = list(theirs)
    shop_items = {v.inventory_item_id for v in variants}
    kept = {sku_id: gid for sku_id, gid in existing.items() if gid in shop_items}
    taken = set(kept.values())
    by_sku = _unique_index((_key(v.sku), v) for v in variants)
    by_barcode = _unique_index((_key(v.barcode), v) for v in variants)
    new: dict[int, str] = {}
    unmatched: list[str] = []
    for sku in sorted(ours, key=lambda s: s.sku):
        if sku.id in kept:
            continue
        candidates = (by_sku.get(_key(sku.sku) or ""), by_barcode.get(_key(sku.barcode) or ""))
        chosen = next(
            (v for v in candidates if v is not None and v.inventory_item_id not in taken), None
        )
        if chosen is None:
            unmatched.append(sku.sku)
            continue
        new[sku.id] = chosen.inventory_item_id
        taken.add(chosen.inventory_item_id)
    return ItemMatches(
        new=new,
        mapped=len(kept) + len(new),
        unmatched_ours=unmatched,
        unmatched_theirs=[v for v in variants if v.inventory_item_id not in taken],
    )


def match_locations(
    ours: Iterable[OurLocation],
    theirs: Iterable[ShopLocation],
    existing: Mapping[str, str],
) -> tuple[list[LocationMatch], dict[int, str]]:
    """`existing` maps Shopify location gids to our codes. An active shop location not yet
    mapped matches our location whose code or name is its name (when exactly one does and
    that location is not mapped yet). Returns every shop location with what it matched and
    the new mappings (our location id → shop location gid)."""
    ours = list(ours)
    mapped_codes = set(existing.values())
    new: dict[int, str] = {}
    report: list[LocationMatch] = []
    for location in theirs:
        code = existing.get(location.id)
        if code is None and location.active:
            name = _key(location.name)
            hits = [o for o in ours if name in (_key(o.code), _key(o.name))]
            if len(hits) == 1 and hits[0].code not in mapped_codes:
                code = hits[0].code
                mapped_codes.add(code)
                new[hits[0].id] = location.id
        report.append(LocationMatch(location=location, matched=code))
    return report, new
