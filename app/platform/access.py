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
    ASSOCIATE = "associate"  # a person on the staff of one or more stores, signed in
    MANAGER = "manager"  # an associate who also runs the store (counts, code unlocks, hours)


KEY_ROLES = frozenset({Role.ADMIN, Role.STOREFRONT, Role.MOBILE, Role.POS, Role.READONLY})
"""Roles an API key may have; staff roles belong to people, who sign in."""

STAFF_ROLES = frozenset({Role.ASSOCIATE, Role.MANAGER})

STORE_BOUND_ROLES = frozenset({Role.POS, *STAFF_ROLES})
"""Roles that act only at their own stores (a till's one location, a person's stores)."""


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
    Role.ASSOCIATE: Channel.POS,
    Role.MANAGER: Channel.POS,
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
    MANAGE_STORE = "manage_store"  # approve counts, unlock pickup codes, pickup hours and pause
    AUDIT_BOOKS = "audit_books"  # the books' audit (app/audit): admins only


_IN_STORE = frozenset(
    {
        Permission.READ,
        Permission.READ_LEDGER,
        Permission.MOVE_STOCK,
        Permission.WORK_PICKUPS,
        Permission.SELL_AT_COUNTER,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.STOREFRONT: frozenset({Permission.READ, Permission.PLACE_ORDERS}),
    Role.MOBILE: frozenset({Permission.READ, Permission.PLACE_ORDERS}),
    Role.POS: _IN_STORE,
    Role.READONLY: frozenset({Permission.READ, Permission.READ_LEDGER}),
    Role.ASSOCIATE: _IN_STORE,
    Role.MANAGER: _IN_STORE | {Permission.MANAGE_STORE},
}

LOCATION_BOUND = frozenset(
    {
        Permission.MOVE_STOCK,
        Permission.WORK_PICKUPS,
        Permission.SELL_AT_COUNTER,
        Permission.READ_LEDGER,
        Permission.MANAGE_STORE,
    }
)
"""What a store-bound caller (a POS key, a person) may do only at its own stores."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: an API key, or a person of the staff signed in (`email` set)."""

    key_id: str
    name: str
    role: Role
    location: str | None = None  # a POS key's one location
    stores: frozenset[str] = frozenset()  # a person's stores
    email: str | None = None  # a person's email: who acted, in the ledger and the timeline

    @property
    def channel(self) -> Channel:
        return CHANNEL_OF_ROLE[self.role]

    @property
    def actor(self) -> str:
        """How the ledger names who made a change: the person, else the key."""
        return self.email or f"{self.role}:{self.name}"

    @property
    def is_store_bound(self) -> bool:
        return self.role in STORE_BOUND_ROLES

    @property
    def store_codes(self) -> frozenset[str]:
        """Where a store-bound caller acts (empty for everyone else)."""
        return self.stores | {self.location} if self.location else self.stores

    def acts_at(self, location: str | None) -> bool:
        """May act at `location`: anywhere unless store-bound."""
        return not self.is_store_bound or location in self.store_codes

    def require(self, permission: Permission, at_location: str | None = None) -> None:
        """Raise `Forbidden` unless this caller may do `permission` (at `at_location`)."""
        self.require_role(permission)
        if permission in LOCATION_BOUND and not self.acts_at(at_location):
            who = "this POS key acts" if self.role is Role.POS else "you act"
            raise Forbidden(
                f"{who} at {', '.join(sorted(self.store_codes))} only",
                {"key_location": self.location, "requested_location": at_location}
                if self.role is Role.POS
                else {"stores": sorted(self.store_codes), "requested_location": at_location},
            )

    def require_role(self, permission: Permission) -> None:
        """Raise `Forbidden` unless this caller's role may do `permission` somewhere: for a
        request of many items, each naming its location and checked with `require`, so that a
        role that may do none of them is refused whole rather than item by item."""
        if permission not in ROLE_PERMISSIONS[self.role]:
            raise Forbidden(f"role {self.role} may not {permission.replace('_', ' ')}")

    def may_see_order(self, order_channel: str, order_locations: Iterable[str] = ()) -> bool:
        """Storefront and mobile keys see their own channel's orders; a POS key or a person
        of the staff the orders that involve their stores (pickup there, or units allocated
        there); others all."""
        if self.role in (Role.STOREFRONT, Role.MOBILE):
            return order_channel == self.channel.value
        if self.is_store_bound:
            return bool(self.store_codes & set(order_locations))
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
    """A POS key is bound to exactly one location; no other role is. Staff roles are for
    people (who sign in), never for keys."""
    if role not in KEY_ROLES:
        raise BusinessRuleViolation(f"{role} is a staff role: staff are people, not keys")
    if role is Role.POS and not location:
        raise BusinessRuleViolation("a pos key must be bound to a location")
    if role is not Role.POS and location:
        raise BusinessRuleViolation("only pos keys are bound to a location")
