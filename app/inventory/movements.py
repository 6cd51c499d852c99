"""Use cases that change stock by hand: a movement, a count, safety stock."""

from __future__ import annotations

from app.inventory.changes import Change
from app.inventory.ledger import Ledger, RecordedMovement
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import LevelKey, MovementKind, Quantities
from app.platform.access import Permission, Principal
from app.platform.context import Context
from app.platform.errors import BusinessRuleViolation
from app.platform.idempotency import store


async def record_movement(
    ctx: Context,
    principal: Principal,
    *,
    location: str,
    sku: str,
    kind: MovementKind,
    quantity: int,
    reason: str | None = None,
    reference: str | None = None,
) -> RecordedMovement:
    """A receipt, adjustment, damage or count posted by staff at one location."""
    principal.require(Permission.MOVE_STOCK, at_location=location)
    async with ctx.uow() as uow:
        loc = await CatalogueRepository.of(uow).location(location)
        item = await CatalogueRepository.of(uow).sku(sku)
        key = LevelKey(loc.id, item.id)
        current = (
            await Ledger.of(uow).lock([key], actor=principal.actor, channel=principal.channel.value)
        )[key]
        change = Change.by_hand(
            key,
            kind,
            quantity,
            current,
            principal,
            sku=sku,
            location=location,
            reference=reference,
            reason=reason,
        )
        [movement] = await Ledger.of(uow).apply([change])
        await store.answer_in(uow, movement)  # a retry's answer commits with the movement
        await uow.commit()
        return movement


async def record_counts(
    ctx: Context,
    principal: Principal,
    *,
    location: str,
    counts: list[tuple[str, int]],
    reference: str | None = None,
) -> list[RecordedMovement]:
    """A stock count of several SKUs at one location: one count movement per line, all or none."""
    principal.require(Permission.MOVE_STOCK, at_location=location)
    codes = [code for code, _ in counts]
    if len(set(codes)) != len(codes):
        raise BusinessRuleViolation("a sku appears twice in the count")
    async with ctx.uow() as uow:
        loc = await CatalogueRepository.of(uow).location(location)
        skus = await CatalogueRepository.of(uow).skus_by_code(codes)
        keys = {code: LevelKey(loc.id, skus[code].id) for code in codes}
        current = await Ledger.of(uow).lock(
            keys.values(), actor=principal.actor, channel=principal.channel.value
        )
        changes = [
            Change.count(
                keys[code],
                counted,
                current[keys[code]],
                principal,
                sku=code,
                location=location,
                reference=reference,
            )
            for code, counted in sorted(counts, key=lambda c: keys[c[0]])
        ]
        movements = await Ledger.of(uow).apply(changes)
        await uow.commit()
        order = {code: i for i, code in enumerate(codes)}
        return sorted(movements, key=lambda m: order[m.change.sku])


async def set_safety_stock(
    ctx: Context, principal: Principal, *, sku: str, location: str, safety_stock: int
) -> Quantities:
    principal.require(Permission.MANAGE_CATALOGUE)
    async with ctx.uow() as uow:
        loc = await CatalogueRepository.of(uow).location(location)
        item = await CatalogueRepository.of(uow).sku(sku)
        key = LevelKey(loc.id, item.id)
        current = (
            await Ledger.of(uow).lock([key], actor=principal.actor, channel=principal.channel.value)
        )[key]
        change = Change.set_safety_stock(
            key, safety_stock, current, principal, sku=sku, location=location
        )
        if change.delta.is_zero:
            return current
        [movement] = await Ledger.of(uow).apply([change])
        await uow.commit()
        return movement.level_after
