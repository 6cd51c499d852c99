from app.inventory.geo import bounding_box, distance_km


def test_distance_between_two_london_stores() -> None:
    # Oxford Street to Shoreditch is a little under 5 km as the crow flies.
    assert 4.3 < distance_km(51.5152, -0.1419, 51.5265, -0.0798) < 4.6


def test_distance_to_itself_is_zero() -> None:
    assert distance_km(51.5, -0.1, 51.5, -0.1) == 0


def test_bounding_box_contains_every_point_within_the_radius() -> None:
    min_lat, max_lat, min_lon, max_lon = bounding_box(51.5, -0.1, 25)
    assert min_lat < 51.5 - 0.2 and max_lat > 51.5 + 0.2
    # A point 24 km due east is inside the box.
    east = -0.1 + 24 / (111.32 * 0.6225)
    assert min_lon < east < max_lon
    assert distance_km(51.5, -0.1, 51.5, east) < 25
