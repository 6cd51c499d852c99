"""Shopify global ids (`gid://shopify/Type/123`) and the composite InventoryLevel id."""

from __future__ import annotations

import re

_GID = re.compile(r"^gid://shopify/(?P<type>[A-Za-z]+)/(?P<id>\d{1,20})$")
_LEVEL_GID = re.compile(
    r"^gid://shopify/InventoryLevel/(?P<location>\d{1,20})\?inventory_item_id=(?P<item>\d{1,20})$"
)


def make_gid(type_name: str, numeric_id: int) -> str:
    return f"gid://shopify/{type_name}/{numeric_id}"


def parse_gid(value: object, type_name: str) -> int | None:
    """The numeric id of a gid of the expected type, or None when it is not one."""
    if not isinstance(value, str):
        return None
    match = _GID.match(value.strip())
    if match is None or match.group("type") != type_name:
        return None
    return int(match.group("id"))


def level_gid(location_id: int, item_id: int) -> str:
    return f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}"


def parse_level_gid(value: object) -> tuple[int, int] | None:
    """(location id, inventory item id) of a composite InventoryLevel gid."""
    if not isinstance(value, str):
        return None
    match = _LEVEL_GID.match(value.strip())
    if match is None:
        return None
    return int(match.group("location")), int(match.group("item"))
