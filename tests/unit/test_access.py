import pytest

from app.platform.access import Permission, Principal, Role, validate_key_binding
from app.platform.errors import BusinessRuleViolation, Forbidden


def test_admin_may_do_everything_anywhere() -> None:
    admin = Principal("k", "a", Role.ADMIN)
    for permission in Permission:
        admin.require(permission, at_location="ANY")


def test_pos_moves_stock_only_at_its_own_location() -> None:
    pos = Principal("k", "till", Role.POS, location="STORE-A")
    pos.require(Permission.MOVE_STOCK, at_location="STORE-A")
    with pytest.raises(Forbidden):
        pos.require(Permission.MOVE_STOCK, at_location="STORE-B")
    with pytest.raises(Forbidden):
        pos.require(Permission.MANAGE_CATALOGUE)


@pytest.mark.parametrize("role", [Role.STOREFRONT, Role.MOBILE, Role.READONLY])
def test_remote_channels_and_readonly_cannot_move_stock(role: Role) -> None:
    with pytest.raises(Forbidden):
        Principal("k", "x", role).require(Permission.MOVE_STOCK, at_location="STORE-A")


def test_channel_follows_role() -> None:
    assert Principal("k", "x", Role.STOREFRONT).channel == "web"
    assert Principal("k", "x", Role.MOBILE).channel == "mobile"
    assert Principal("k", "x", Role.POS, "S").channel == "pos"


def test_only_pos_keys_are_bound_to_a_location() -> None:
    validate_key_binding(Role.POS, "STORE-A")
    with pytest.raises(BusinessRuleViolation):
        validate_key_binding(Role.POS, None)
    with pytest.raises(BusinessRuleViolation):
        validate_key_binding(Role.ADMIN, "STORE-A")
