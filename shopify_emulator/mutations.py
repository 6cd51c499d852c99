"""The inventory mutations' validation and effects: all-or-nothing, version-aware, idempotent."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError

from shopify_emulator.gids import parse_gid
from shopify_emulator.records import (
    AdjustmentGroup,
    InventoryItem,
    Location,
    QuantityChange,
)
from shopify_emulator.state import (
    MAX_QUANTITY,
    EmulatorSettings,
    ShopState,
    fingerprint,
)
from shopify_emulator.versions import VersionRules

SET_NAMES = frozenset({"available", "on_hand"})
ADJUST_NAMES = frozenset(
    {
        "available",
        "on_hand",
        "damaged",
        "incoming",
        "quality_control",
        "reserved",
        "safety_stock",
    }
)
NEGATIVE_ALLOWED = frozenset({"available", "on_hand"})
REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_created",
        "movement_updated",
        "movement_received",
        "movement_canceled",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
MAX_IDEMPOTENCY_KEY_LENGTH = 255
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://\S{1,2000}$")

Path = tuple[str, ...]


@dataclass(frozen=True)
class UserError:
    field: Path
    message: str
    code: str

    def to_json(self) -> dict[str, Any]:
        return {"field": list(self.field), "message": self.message, "code": self.code}


@dataclass(frozen=True)
class MutationPayload:
    group: AdjustmentGroup | None
    user_errors: tuple[UserError, ...]
    replayed: bool = False

    def to_graphql(self) -> dict[str, Any]:
        return {
            "inventoryAdjustmentGroup": self.group,
            "userErrors": [error.to_json() for error in self.user_errors],
        }


@dataclass(frozen=True)
class MutationRequest:
    """Everything a mutation needs besides its input."""

    shop: ShopState
    rules: VersionRules
    settings: EmulatorSettings
    idempotency_key: str | None


def run_idempotent(
    request: MutationRequest,
    mutation: str,
    arguments: Mapping[str, Any],
    apply: Callable[[], MutationPayload],
) -> MutationPayload:
    """Same key + same arguments → the stored payload, nothing applied again;
    same key + other arguments → a userError. Payloads with userErrors are stored too,
    because Shopify returns "the result of the original operation"."""
    key = request.idempotency_key
    if key is None:
        return apply()
    shop = request.shop
    print_ = fingerprint({"mutation": mutation, "arguments": arguments})
    stored = shop.idempotent_lookup(key)
    if stored is not None:
        if stored.fingerprint == print_:
            shop.counters.idempotent_replays += 1
            payload: MutationPayload = stored.payload
            return MutationPayload(payload.group, payload.user_errors, replayed=True)
        return MutationPayload(
            None,
            (
                UserError(
                    ("idempotent", "key"),
                    "The same idempotency key cannot be used with different operation parameters.",
                    request.settings.idempotency_mismatch_code,
                ),
            ),
        )
    payload = apply()
    shop.idempotent_store(key, print_, payload)
    return payload


def require_idempotency_key(request: MutationRequest, mutation: str, required: bool) -> None:
    key = request.idempotency_key
    if key is None and required:
        raise GraphQLError(
            f"The @idempotent directive is required for {mutation} in API version "
            f'{request.rules.version}: add @idempotent(key: "<uuid>") to the field.',
            extensions={"code": "BAD_REQUEST"},
        )
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise GraphQLError(
            f"The idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters long.",
            extensions={"code": "BAD_REQUEST"},
        )


def set_quantities(request: MutationRequest, data: Mapping[str, Any]) -> MutationPayload:
    """`inventorySetQuantities`: absolute values with compare-and-swap, per version."""
    shop, rules = request.shop, request.rules
    name: str = data["name"]
    errors: list[UserError] = []
    if name not in SET_NAMES:
        errors.append(
            UserError(
                ("input", "name"),
                "The quantity name must be either 'available' or 'on_hand'.",
                "INVALID_NAME",
            )
        )
    _check_reason_and_reference(data, errors)
    ignore_compare = bool(data.get("ignoreCompareQuantity") or False)
    planned: list[tuple[InventoryItem, Location, int]] = []
    seen: set[tuple[int, int]] = set()
    for index, entry in enumerate(data["quantities"]):
        path: Path = ("input", "quantities", str(index))
        quantity: int = entry["quantity"]
        item, location = _find_targets(shop, entry, path, errors)
        if quantity < 0:
            errors.append(
                UserError(
                    (*path, "quantity"),
                    "The quantity can't be negative.",
                    "INVALID_QUANTITY_NEGATIVE",
                )
            )
        elif quantity > MAX_QUANTITY:
            errors.append(
                UserError(
                    (*path, "quantity"),
                    "The quantity can't be higher than 1,000,000,000.",
                    "INVALID_QUANTITY_TOO_HIGH",
                )
            )
        if item is None or location is None:
            continue
        if (item.id, location.id) in seen:
            errors.append(
                UserError(
                    path,
                    "The combination of inventoryItemId and locationId must be unique.",
                    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                )
            )
            continue
        seen.add((item.id, location.id))
        level = shop.level_for(item.id, location.id)
        if level is None and rules.requires_stocked_item:
            errors.append(
                UserError(
                    path,
                    "The specified inventory item is not stocked at the location.",
                    "ITEM_NOT_STOCKED_AT_LOCATION",
                )
            )
            continue
        if name in SET_NAMES:
            current = level.quantity(name) if level is not None else 0
            _check_set_compare(entry, current, rules, ignore_compare, path, errors)
        planned.append((item, location, quantity))
    if errors:
        return MutationPayload(None, tuple(errors))
    changes: list[QuantityChange] = []
    for item, location, quantity in planned:
        changes += shop.apply_quantity(shop.ensure_level(item.id, location.id), name, quantity)
    return _commit(request, "inventorySetQuantities", data, changes)


def adjust_quantities(request: MutationRequest, data: Mapping[str, Any]) -> MutationPayload:
    """`inventoryAdjustQuantities`: deltas, with an optional/required changeFromQuantity."""
    shop, rules = request.shop, request.rules
    name: str = data["name"]
    errors: list[UserError] = []
    name_ok = name in ADJUST_NAMES
    if not name_ok:
        errors.append(
            UserError(
                ("input", "name"),
                f"The quantity name '{name}' is not valid.",
                "INVALID_QUANTITY_NAME",
            )
        )
    _check_reason_and_reference(data, errors)
    planned: list[tuple[InventoryItem, Location, int, str | None]] = []
    projected: dict[tuple[int, int], int] = {}
    for index, entry in enumerate(data["changes"]):
        path: Path = ("input", "changes", str(index))
        delta: int = entry["delta"]
        ledger: str | None = entry.get("ledgerDocumentUri")
        item, location = _find_targets(shop, entry, path, errors)
        if abs(delta) > MAX_QUANTITY:
            errors.append(
                UserError(
                    (*path, "delta"),
                    "The delta can't be higher than 1,000,000,000.",
                    "INVALID_QUANTITY_TOO_HIGH",
                )
            )
        if name_ok:
            _check_ledger_document(name, ledger, path, errors)
        if item is None or location is None or not name_ok:
            continue
        level = shop.level_for(item.id, location.id)
        if level is None and rules.requires_stocked_item:
            errors.append(
                UserError(
                    path,
                    "The specified inventory item is not stocked at the location.",
                    "ITEM_NOT_STOCKED_AT_LOCATION",
                )
            )
            continue
        current = level.quantity(name) if level is not None else 0
        _check_change_from(entry, current, rules, path, errors)
        after = projected.get((item.id, location.id), current) + delta
        projected[(item.id, location.id)] = after
        if after > MAX_QUANTITY:
            errors.append(
                UserError(
                    (*path, "delta"),
                    "The resulting quantity can't be higher than 1,000,000,000.",
                    "INVALID_QUANTITY_TOO_HIGH",
                )
            )
        elif after < 0 and name not in NEGATIVE_ALLOWED:
            errors.append(
                UserError(
                    (*path, "delta"),
                    f"The resulting {name} quantity can't be negative.",
                    "INVALID_QUANTITY_TOO_LOW",
                )
            )
        planned.append((item, location, delta, ledger))
    if errors:
        return MutationPayload(None, tuple(errors))
    changes: list[QuantityChange] = []
    for item, location, delta, ledger in planned:
        level = shop.ensure_level(item.id, location.id)
        changes += shop.apply_quantity(level, name, level.quantity(name) + delta, ledger)
    return _commit(request, "inventoryAdjustQuantities", data, changes)


def _commit(
    request: MutationRequest,
    mutation: str,
    data: Mapping[str, Any],
    changes: Sequence[QuantityChange],
) -> MutationPayload:
    shop = request.shop
    group = shop.record_group(
        reason=data["reason"],
        reference_document_uri=data.get("referenceDocumentUri"),
        changes=changes,
        source="graphql",
        mutation=mutation,
        quantity_name=data["name"],
        idempotency_key=request.idempotency_key,
        api_version=request.rules.version,
    )
    shop.announce_available_changes(changes)
    return MutationPayload(group, ())


def _find_targets(
    shop: ShopState, entry: Mapping[str, Any], path: Path, errors: list[UserError]
) -> tuple[InventoryItem | None, Location | None]:
    item_id = parse_gid(entry["inventoryItemId"], "InventoryItem")
    location_id = parse_gid(entry["locationId"], "Location")
    item = shop.items.get(item_id) if item_id is not None else None
    location = shop.locations.get(location_id) if location_id is not None else None
    if item is None:
        errors.append(
            UserError(
                (*path, "inventoryItemId"),
                "The specified inventory item could not be found.",
                "INVALID_INVENTORY_ITEM",
            )
        )
    if location is None:
        errors.append(
            UserError(
                (*path, "locationId"),
                "The specified location could not be found.",
                "INVALID_LOCATION",
            )
        )
    return item, location


def _check_reason_and_reference(data: Mapping[str, Any], errors: list[UserError]) -> None:
    if data["reason"] not in REASONS:
        errors.append(
            UserError(
                ("input", "reason"),
                f"The reason '{data['reason']}' is not valid.",
                "INVALID_REASON",
            )
        )
    reference = data.get("referenceDocumentUri")
    if reference is not None and not _URI.match(reference):
        errors.append(
            UserError(
                ("input", "referenceDocumentUri"),
                "The reference document URI isn't a valid URI.",
                "INVALID_REFERENCE_DOCUMENT",
            )
        )


def _check_ledger_document(
    name: str, ledger: str | None, path: Path, errors: list[UserError]
) -> None:
    field = (*path, "ledgerDocumentUri")
    if name == "available":
        if ledger is not None:
            errors.append(
                UserError(
                    field,
                    "A ledger document URI is not allowed when adjusting available.",
                    "INVALID_AVAILABLE_DOCUMENT",
                )
            )
    elif ledger is None:
        errors.append(
            UserError(
                field,
                "A ledger document URI is required for quantity names other than available.",
                "INVALID_QUANTITY_DOCUMENT",
            )
        )
    elif not _URI.match(ledger) or ledger.startswith("gid://shopify/"):
        errors.append(
            UserError(
                field,
                "The ledger document URI isn't valid; it cannot use the gid://shopify/ format.",
                "INVALID_LEDGER_DOCUMENT",
            )
        )


def _check_change_from(
    entry: Mapping[str, Any], current: int, rules: VersionRules, path: Path, errors: list[UserError]
) -> bool:
    """Returns whether `changeFromQuantity` decided the compare-and-swap (it was sent)."""
    field = (*path, "changeFromQuantity")
    if "changeFromQuantity" not in entry:
        if rules.change_from_required:
            errors.append(
                UserError(
                    field,
                    "changeFromQuantity must be given for each "
                    "quantity; pass null explicitly to skip the check.",
                    "CHANGE_FROM_QUANTITY_REQUIRED",
                )
            )
            return True
        return False
    expected = entry["changeFromQuantity"]
    if expected is not None and expected != current:
        code = (
            "CHANGE_FROM_QUANTITY_STALE" if rules.change_from_required else "COMPARE_QUANTITY_STALE"
        )
        errors.append(
            UserError(
                field,
                f"The changeFromQuantity ({expected}) does not match "
                f"the current quantity ({current}).",
                code,
            )
        )
    return True


def _check_set_compare(
    entry: Mapping[str, Any],
    current: int,
    rules: VersionRules,
    ignore_compare: bool,
    path: Path,
    errors: list[UserError],
) -> None:
    """2026-04+: changeFromQuantity only. Earlier: an explicit changeFromQuantity wins, else
    compareQuantity is required unless ignoreCompareQuantity is true."""
    if _check_change_from(entry, current, rules, path, errors) or ignore_compare:
        return
    expected = entry.get("compareQuantity")
    field = (*path, "compareQuantity")
    if expected is None:
        errors.append(
            UserError(
                field,
                "The compareQuantity argument must be given to each "
                "quantity or ignored using ignoreCompareQuantity.",
                "COMPARE_QUANTITY_REQUIRED",
            )
        )
    elif expected != current:
        errors.append(
            UserError(
                field,
                "The compareQuantity value does not match persisted value.",
                "COMPARE_QUANTITY_STALE",
            )
        )
