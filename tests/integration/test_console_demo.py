"""`omnistock demo` gives the staff console people to sign in as and work at their desk."""

from __future__ import annotations

from app.access import staff
from app.access.staff_rules import staff_principal
from app.bootstrap import AppContext
from app.demo import DEMO_STORE, seed_demo, seed_demo_staff, seed_desk_work
from app.inventory.transfers import list_transfers
from app.orders.views import pickup_queue


async def test_the_demo_store_has_an_associate_a_manager_and_work_waiting(
    ctx: AppContext,
) -> None:
    assert await seed_demo(ctx)
    placed = await seed_desk_work(ctx)
    people = await seed_demo_staff(ctx)
    assert await seed_demo_staff(ctx) == people  # the same sign-ins at every start
    assert {p.role for p in people} == {"associate", "manager"}

    for person in people:
        signed = await staff.sign_in(ctx, person.email, person.password)
        assert signed.staff.locations == (DEMO_STORE,)
        assert signed.staff.role == person.role
    associate = next(p for p in people if p.role == "associate")
    who = (await staff.sign_in(ctx, associate.email, associate.password)).staff
    principal = staff_principal(who.id, who.name, who.role, who.email, who.locations)
    queue = await pickup_queue(ctx, principal, DEMO_STORE, ["confirmed"])
    assert placed >= 1
    assert len(queue) == placed
    arriving = await list_transfers(
        ctx, principal, location=DEMO_STORE, status="in_transit", after=None, limit=10
    )
    assert [t.to_location for t in arriving] == [DEMO_STORE]
