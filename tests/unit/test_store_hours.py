"""When a store is open and when an order placed now can be ready there (inventory.hours)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.inventory.hours import (
    InvalidStoreHours,
    PickupStatus,
    StoreHours,
    check_lead_minutes,
    local_to_utc,
    promise,
    ready_by,
    week_json,
)

WEEKDAY = [["09:00", "20:00"]]
LONDON_WEEK = {
    "mon": WEEKDAY,
    "tue": WEEKDAY,
    "wed": WEEKDAY,
    "thu": WEEKDAY,
    "fri": WEEKDAY,
    "sat": [["10:00", "13:00"], ["14:00", "18:00"]],
}
"""Sunday is left out: closed on Sundays. 2026-11-30 is a Monday; London is on GMT then."""


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def london(
    closed: tuple[str, ...] = (), week: dict[str, list[list[str]]] | None = None
) -> StoreHours:
    return StoreHours.parse("Europe/London", LONDON_WEEK if week is None else week, closed)


def test_open_now_the_order_is_ready_after_the_lead_time() -> None:
    promised = promise(utc("2026-11-30T10:00"), london(), 60)
    assert promised == promise(utc("2026-11-30T10:00"), london(), 60, paused=False)
    assert promised.status is PickupStatus.OPEN
    assert promised.ready_by == utc("2026-11-30T11:00")


def test_near_closing_the_rest_of_the_lead_runs_from_the_next_opening() -> None:
    promised = promise(utc("2026-11-30T19:30"), london(), 60)
    assert promised.status is PickupStatus.OPEN
    assert promised.ready_by == utc("2026-12-01T09:30")


def test_an_order_is_never_ready_at_the_minute_the_store_closes() -> None:
    promised = promise(utc("2026-11-30T19:00"), london(), 60)
    assert promised.ready_by == utc("2026-12-01T09:00")


def test_overnight_the_lead_starts_at_the_next_opening() -> None:
    promised = promise(utc("2026-11-30T22:00"), london(), 60)
    assert promised.status is PickupStatus.CLOSED_TODAY
    assert promised.ready_by == utc("2026-12-01T10:00")


def test_before_opening_the_store_is_closed_now_and_opens_later_today() -> None:
    promised = promise(utc("2026-11-30T07:00"), london(), 45)
    assert promised.status is PickupStatus.CLOSED_NOW
    assert promised.ready_by == utc("2026-11-30T09:45")


def test_a_lunch_break_does_not_count() -> None:
    promised = promise(utc("2026-12-05T12:30"), london(), 60)  # a Saturday
    assert promised.ready_by == utc("2026-12-05T14:30")


def test_a_day_left_out_is_closed() -> None:
    promised = promise(utc("2026-12-05T17:30"), london(), 60)  # Saturday; Sunday is closed
    assert promised.ready_by == utc("2026-12-07T09:30")
    sunday = promise(utc("2026-12-06T12:00"), london(), 60)
    assert sunday.status is PickupStatus.CLOSED_TODAY
    assert sunday.ready_by == utc("2026-12-07T10:00")


def test_closed_dates_are_skipped() -> None:
    promised = promise(utc("2026-11-30T19:30"), london(closed=("2026-12-01",)), 60)
    assert promised.ready_by == utc("2026-12-02T09:30")
    on_the_day = promise(utc("2026-12-01T12:00"), london(closed=("2026-12-01",)), 60)
    assert on_the_day.status is PickupStatus.CLOSED_TODAY
    assert on_the_day.ready_by == utc("2026-12-02T10:00")


def test_a_store_closed_all_week_promises_nothing() -> None:
    never = london(week={"mon": []})
    promised = promise(utc("2026-11-30T10:00"), never, 60)
    assert promised.status is PickupStatus.CLOSED
    assert promised.ready_by is None
    assert ready_by(utc("2026-11-30T10:00"), "Europe/London", {"mon": []}, [], 60, False) is None


def test_a_lead_longer_than_a_year_of_opening_hours_promises_nothing() -> None:
    one_hour_a_week = london(week={"mon": [["09:00", "10:00"]]})
    assert promise(utc("2026-11-30T08:00"), one_hour_a_week, 10080).ready_by is None


def test_no_opening_hours_is_always_open() -> None:
    always = StoreHours.parse("Europe/London", {}, [])
    promised = promise(utc("2026-11-30T23:30"), always, 60)
    assert promised.status is PickupStatus.OPEN
    assert promised.ready_by == utc("2026-12-01T00:30")
    assert StoreHours.parse("UTC", None) == StoreHours()


def test_always_open_but_for_a_closed_date() -> None:
    always = StoreHours.parse("Europe/London", {}, ["2026-12-25"])
    promised = promise(utc("2026-12-25T10:00"), always, 60)
    assert promised.status is PickupStatus.CLOSED_TODAY
    assert promised.ready_by == utc("2026-12-26T01:00")


def test_a_paused_store_says_so_and_promises_nothing() -> None:
    promised = promise(utc("2026-11-30T10:00"), london(), 60, paused=True)
    assert promised.status is PickupStatus.PAUSED
    assert promised.ready_by is None
    assert ready_by(utc("2026-11-30T10:00"), "Europe/London", LONDON_WEEK, [], 60, True) is None
    assert ready_by(utc("2026-11-30T10:00"), "Europe/London", LONDON_WEEK, [], 60, False) == utc(
        "2026-11-30T11:00"
    )


def test_no_lead_time_is_ready_now_or_at_the_next_opening() -> None:
    assert promise(utc("2026-11-30T10:00"), london(), 0).ready_by == utc("2026-11-30T10:00")
    assert promise(utc("2026-11-30T21:00"), london(), 0).ready_by == utc("2026-12-01T09:00")


def test_hours_open_past_midnight_run_on_into_the_next_day() -> None:
    late = london(week={"fri": [["22:00", "24:00"]], "sat": [["00:00", "02:00"]]})
    promised = promise(utc("2026-12-04T23:30"), late, 60)  # a Friday
    assert promised.status is PickupStatus.OPEN
    assert promised.ready_by == utc("2026-12-05T00:30")


def test_the_store_time_zone_is_its_own() -> None:
    new_york = StoreHours.parse("America/New_York", LONDON_WEEK, [])
    # 10:00 in London is 05:00 in New York: the store opens at 09:00 EST (14:00 UTC).
    promised = promise(utc("2026-11-30T10:00"), new_york, 60)
    assert promised.status is PickupStatus.CLOSED_NOW
    assert promised.ready_by == utc("2026-11-30T15:00")


# Daylight saving time in London: forward at 01:00 UTC on 2026-03-29, back at 01:00 UTC on
# 2026-10-25 (both Sundays).
def test_an_opening_after_the_clocks_go_forward_is_in_summer_time() -> None:
    week = {"sat": [["09:00", "18:00"]], "sun": [["09:00", "17:00"]]}
    promised = promise(utc("2026-03-28T17:30"), london(week=week), 60)
    assert promised.ready_by == utc("2026-03-29T08:30")  # 09:30 BST


def test_an_opening_after_the_clocks_go_back_is_in_winter_time() -> None:
    week = {"sat": [["09:00", "18:00"]], "sun": [["09:00", "17:00"]]}
    promised = promise(utc("2026-10-24T16:30"), london(week=week), 60)  # 17:30 BST
    assert promised.ready_by == utc("2026-10-25T09:30")  # 09:30 GMT


def test_the_day_the_clocks_go_forward_is_23_hours_long() -> None:
    sundays = london(week={"sun": [["00:00", "24:00"]]})
    start = utc("2026-03-29T00:00")  # midnight GMT, the start of that Sunday
    assert promise(start, sundays, 22 * 60 + 59).ready_by == utc("2026-03-29T22:59")
    # All 23 hours used up at the closing minute: ready when the next Sunday begins (BST).
    assert promise(start, sundays, 23 * 60).ready_by == utc("2026-04-04T23:00")


def test_the_day_the_clocks_go_back_is_25_hours_long() -> None:
    sundays = london(week={"sun": [["00:00", "24:00"]]})
    start = utc("2026-10-24T23:00")  # midnight BST, the start of that Sunday
    assert promise(start, sundays, 24 * 60 + 59).ready_by == utc("2026-10-25T23:59")


@pytest.mark.parametrize(
    ("week", "closed", "timezone"),
    [
        ({"mon": [["25:00", "26:00"]]}, [], "UTC"),
        ({"mon": [["09:00", "20:60"]]}, [], "UTC"),
        ({"mon": [["9:00", "20:00"]]}, [], "UTC"),
        ({"mon": [["20:00", "09:00"]]}, [], "UTC"),  # ends before it starts
        ({"mon": [["09:00", "09:00"]]}, [], "UTC"),  # empty
        ({"mon": [["24:00", "24:00"]]}, [], "UTC"),  # 24:00 only closes
        ({"mon": [["09:00", "13:00"], ["12:00", "18:00"]]}, [], "UTC"),  # overlapping
        ({"mon": [["12:00", "18:00"], ["09:00", "24:00"]]}, [], "UTC"),  # overlapping, unsorted
        ({"mon": [["09:00"]]}, [], "UTC"),
        ({"funday": [["09:00", "10:00"]]}, [], "UTC"),
        ({"mon": [["09:00", "10:00"]] * 7}, [], "UTC"),  # too many intervals
        ({}, ["2026-02-30"], "UTC"),
        ({}, ["tomorrow"], "UTC"),
        ({}, [], "Europe/Nowhere"),
        ({}, [], "Europe"),
        ({}, [], "../etc/passwd"),
        ({}, [], ""),
    ],
)
def test_malformed_hours_are_refused(
    week: dict[str, list[list[str]]], closed: list[str], timezone: str
) -> None:
    with pytest.raises(InvalidStoreHours):
        StoreHours.parse(timezone, week, closed)


@pytest.mark.parametrize("minutes", [-1, 10081])
def test_lead_minutes_out_of_range_are_refused(minutes: int) -> None:
    with pytest.raises(InvalidStoreHours):
        check_lead_minutes(minutes)
    assert check_lead_minutes(10080) == 10080


def test_hours_are_stored_sorted_with_every_day_named() -> None:
    hours = StoreHours.parse("UTC", {"sat": [["14:00", "24:00"], ["10:00", "13:00"]]}, [])
    stored = week_json(hours.week)
    assert stored["sat"] == [["10:00", "13:00"], ["14:00", "24:00"]]
    assert stored["mon"] == [] and len(stored) == 7
    assert StoreHours.parse("UTC", stored, []) == hours
    assert week_json(None) == {}


def test_a_till_time_without_an_offset_is_the_store_wall_clock() -> None:
    winter = local_to_utc(datetime(2026, 1, 15, 9, 15), "Europe/London")
    summer = local_to_utc(datetime(2026, 7, 15, 9, 15), "Europe/London")
    assert winter == utc("2026-01-15T09:15")
    assert summer == utc("2026-07-15T08:15")
    # An hour that happens twice when the clocks go back: the first one (still BST).
    assert local_to_utc(datetime(2026, 10, 25, 1, 30), "Europe/London") == utc("2026-10-25T00:30")
    with_offset = datetime.fromisoformat("2026-07-15T09:15:00+02:00")
    assert local_to_utc(with_offset, "Europe/London") == utc("2026-07-15T07:15")
