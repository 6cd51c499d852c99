"""Who may do what: roles, channels, permissions and the authenticated principal."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from app.platform.errors import BusinessRuleViolation, Forbidden


class Role(StrEnum):
    ADMIN = "admin"
    STOREFRONT = "storefront"
    MOBILE = "mobile"
    POS = "pos"
    READONLY = "readonly"


class Channel(StrEnum):
    ADMIN = "admin"
    WEB = "web"
    MOBILE = "mobile"
    POS = "pos"
    SHOPIFY = "shopify"
    SYSTEM = "system"


CHANNEL_OF_ROLE = {
    Role.ADMIN: Channel.ADMIN,
    Role.STOREFRONT: Channel.WEB,
    Role.MOBILE: Channel.MOBILE,
    Role.POS: Channel.POS,
    Role.READONLY: Channel.ADMIN,
}


class Permission(StrEnum):
    READ = "read"
    MANAGE_CATALOGUE = "manage_catalogue"  # locations, SKUs, safety stock, transfers, keys
    MOVE_STOCK = "move_stock"  # receipts, adjustments, damages, counts
    PLACE_ORDERS = "place_orders"  # create, read and cancel orders of the caller's channel
    WORK_PICKUPS = "work_pickups"  # pickup queue, mark ready, hand over, ship
    SELL_AT_COUNTER = "sell_at_counter"  # POS sales and returns, order returns
    READ_NOTIFICATIONS = "read_notifications"
    READ_LEDGER = "read_ledger"  # the movements: who moved what, with till and order references


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.STOREFRONT: frozenset({Permission.READ, Permission.PLACE_ORDERS}),
    Role.MOBILE: frozenset({Permission.READ, Permission.PLACE_ORDERS}),
    Role.POS: frozenset(
        {
            Permission.READ,
            Permission.READ_LEDGER,
            Permission.MOVE_STOCK,
            Permission.WORK_PICKUPS,
            Permission.SELL_AT_COUNTER,
        }
    ),
    Role.READONLY: frozenset({Permission.READ, Permission.READ_LEDGER}),
}

LOCATION_BOUND = frozenset(
    {
        Permission.MOVE_STOCK,
        Permission.WORK_PICKUPS,
        Permission.SELL_AT_COUNTER,
        Permission.READ_LEDGER,
    }
)
"""What a POS key may do only at its own location."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind an API key."""

    key_id: str
    name: str
    role: Role
    location: str | None = None  # set for POS keys only

    @property
    def channel(self) -> Channel:
        return CHANNEL_OF_ROLE[self.role]

    @property
    def actor(self) -> str:
        """How the ledger names who made a movement."""
        return f"{self.role}:{self.name}"

    def require(self, permission: Permission, at_location: str | None = None) -> None:
        """Raise `Forbidden` unless this caller may do `permission` (at `at_location`)."""
        if permission not in ROLE_PERMISSIONS[self.role]:
            raise Forbidden(f"role {self.role} may not {permission.replace('_', ' ')}")
        if self.role is Role.POS and permission in LOCATION_BOUND and at_location != self.location:
            raise Forbidden(
                f"this POS key acts at {self.location} only",
                {"key_location": self.location, "requested_location": at_location},
            )

    def may_see_order(self, order_channel: str, order_locations: Iterable[str] = ()) -> bool:
        """Storefront and mobile keys see their own channel's orders; a POS key the orders
        that involve its location (pickup there, or units allocated there); others all."""
        if self.role in (Role.STOREFRONT, Role.MOBILE):
            return order_channel == self.channel.value
        if self.role is Role.POS:
            return self.location in set(order_locations)
        return True

    def placed(self, order_channel: str) -> bool:
        """This caller is the channel that placed the order (it may see its payment secret)."""
        return self.role in (Role.STOREFRONT, Role.MOBILE) and order_channel == self.channel.value

    def order_channel(self, requested: str | None) -> Channel:
        """The channel a new order belongs to: the key's own; admins may name one."""
        if requested is None or requested == self.channel.value:
            return Channel.WEB if self.role is Role.ADMIN and requested is None else self.channel
        if self.role is not Role.ADMIN:
            raise Forbidden("only admin keys may place orders for another channel")
        try:
            return Channel(requested)
        except ValueError:
            raise BusinessRuleViolation(f"unknown channel {requested!r}") from None


def validate_key_binding(role: Role, location: str | None) -> None:
    """A POS key is bound to exactly one location; no other role is."""
    if role is Role.POS and not location:
        raise BusinessRuleViolation("a pos key must be bound to a location")
    if role is not Role.POS and location:
        raise BusinessRuleViolation("only pos keys are bound to a location")
