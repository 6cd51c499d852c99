import pytest

from app.inventory import rules
from app.inventory.rules import Delta, Guard, MovementKind, Quantities
from app.platform.errors import BusinessRuleViolation, InsufficientStock


def test_available_withholds_reserved_and_safety_stock_and_never_goes_negative() -> None:
    assert Quantities(on_hand=10, reserved=3, safety_stock=2).available == 5
    assert Quantities(on_hand=2, reserved=3, safety_stock=2).available == 0


def test_receipt_adds_to_on_hand() -> None:
    assert rules.manual_movement(MovementKind.RECEIPT, 5, Quantities()) == Delta(on_hand=5)


def test_damage_removes_from_on_hand() -> None:
    assert rules.manual_movement(MovementKind.DAMAGE, 2, Quantities(on_hand=4)) == Delta(on_hand=-2)


def test_adjustment_may_be_negative() -> None:
    assert rules.manual_movement(MovementKind.ADJUSTMENT, -3, Quantities(on_hand=4)) == Delta(
        on_hand=-3
    )


def test_count_records_the_difference_from_what_was_on_hand() -> None:
    assert rules.manual_movement(MovementKind.COUNT, 7, Quantities(on_hand=10)) == Delta(on_hand=-3)
    assert rules.manual_movement(MovementKind.COUNT, 12, Quantities(on_hand=10)) == Delta(on_hand=2)


@pytest.mark.parametrize(
    ("kind", "quantity"),
    [
        (MovementKind.RECEIPT, 0),
        (MovementKind.RECEIPT, -1),
        (MovementKind.DAMAGE, 0),
        (MovementKind.ADJUSTMENT, 0),
        (MovementKind.COUNT, -1),
        (MovementKind.TRANSFER_OUT, 1),
    ],
)
def test_nonsense_movements_are_refused(kind: MovementKind, quantity: int) -> None:
    with pytest.raises(BusinessRuleViolation):
        rules.manual_movement(kind, quantity, Quantities(on_hand=5))


def test_removing_more_than_is_on_hand_is_refused() -> None:
    with pytest.raises(InsufficientStock) as raised:
        rules.check_guard("S", "L", Quantities(on_hand=2), Delta(on_hand=-3), Guard.ON_HAND)
    assert raised.value.details["on_hand"] == 2


def test_a_transfer_cannot_take_units_promised_to_orders() -> None:
    level = Quantities(on_hand=5, reserved=4)
    rules.check_guard("S", "L", level, Delta(on_hand=-1), Guard.FREE)
    with pytest.raises(InsufficientStock):
        rules.check_guard("S", "L", level, Delta(on_hand=-2), Guard.FREE)


def test_incoming_can_never_go_below_zero() -> None:
    with pytest.raises(InsufficientStock):
        rules.check_guard("S", "L", Quantities(incoming=1), Delta(incoming=-2), Guard.NONE)


def test_transfer_moves_on_hand_out_and_incoming_in_then_receipt_lands_it() -> None:
    out, incoming = rules.transfer_dispatch(3)
    assert out == Delta(on_hand=-3)
    assert incoming == Delta(incoming=3)
    destination = Quantities().after(incoming).after(rules.transfer_receipt(3))
    assert destination == Quantities(on_hand=3)


def test_safety_stock_change_is_the_difference() -> None:
    assert rules.safety_stock_change(4, Quantities(safety_stock=1)) == Delta(safety_stock=3)
    with pytest.raises(BusinessRuleViolation):
        rules.safety_stock_change(-1, Quantities())


def test_fold_replays_movements_into_a_level() -> None:
    assert rules.fold(
        [Delta(on_hand=5), Delta(on_hand=-2, reserved=1), Delta(safety_stock=1)]
    ) == Quantities(on_hand=3, reserved=1, safety_stock=1)
