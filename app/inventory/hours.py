"""A store's opening hours and the pickup promise made from them: when an order placed now can
be ready there. Pure: the time zone rules come from the standard library's `zoneinfo`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo, available_timezones

from app.platform.errors import BusinessRuleViolation, DomainError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""The keys of `opening_hours`, in `date.weekday()` order."""

MAX_LEAD_MINUTES = 7 * 24 * 60
MAX_INTERVALS_PER_DAY = 6
MAX_CLOSED_DATES = 400
HORIZON_DAYS = 400
"""How far ahead a promise is looked for; a store that cannot get an order ready within it
(never open, or a lead time longer than its hours allow) makes none."""

_CLOCK = re.compile(r"^(?:([01][0-9]|2[0-3]):([0-5][0-9])|(24):(00))\Z")


class InvalidStoreHours(BusinessRuleViolation):
    code = "invalid_store_hours"


class PickupPaused(DomainError):
    """A pickup order at a store whose pickups are paused (HTTP 409)."""

    code = "pickup_paused"


class PickupStatus(StrEnum):
    OPEN = "open"  # open now
    CLOSED_NOW = "closed_now"  # closed at the moment, opens again later today
    CLOSED_TODAY = "closed_today"  # does not open again today (after hours, day off, closed date)
    CLOSED = "closed"  # no opening ahead in which an order could be ready: no promise
    PAUSED = "paused"  # the store has paused pickups: no promise
    NOT_OFFERED = "not_offered"  # the store offers no pickup: no promise


Interval = tuple[time, time | None]
"""Opening and closing time of one interval, local; a closing of None is midnight ("24:00")."""


@dataclass(frozen=True, slots=True)
class StoreHours:
    """When a store is open, as validated from what a location stores."""

    timezone: str = "UTC"
    week: tuple[tuple[Interval, ...], ...] | None = None  # by weekday; None: always open
    closed_dates: frozenset[date] = frozenset()

    @classmethod
    def parse(
        cls,
        timezone: str,
        opening_hours: Mapping[str, Sequence[Sequence[str]]] | None,
        closed_dates: Iterable[str | date] = (),
    ) -> StoreHours:
        """Raises `InvalidStoreHours` on an unknown time zone, a malformed clock time, an
        interval that ends before it starts, overlapping intervals or an unknown day."""
        zone(timezone)
        return cls(timezone, parse_week(opening_hours), parse_closed_dates(closed_dates))

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        if day in self.closed_dates:
            return ()
        if self.week is None:
            return ((time(0, 0), None),)
        return self.week[day.weekday()]

    def utc_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's intervals as UTC instants: a DST day's hours are as long as they
        really are, and a clock time that does not exist that day is read as the clocks
        before the change would show it."""
        tz = zone(self.timezone)
        spans = []
        for opens, closes in self.intervals_on(day):
            start = datetime.combine(day, opens, tz).astimezone(UTC)
            end_local = (
                datetime.combine(day + timedelta(days=1), time(0, 0), tz)
                if closes is None
                else datetime.combine(day, closes, tz)
            )
            end = end_local.astimezone(UTC)
            if end > start:
                spans.append((start, end))
        return spans


@dataclass(frozen=True, slots=True)
class PickupPromise:
    status: PickupStatus
    ready_by: datetime | None  # UTC


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; `InvalidStoreHours` if there is no such zone."""
    if name not in _known_zones():
        raise InvalidStoreHours(f"unknown time zone {name!r}", {"timezone": name})
    return ZoneInfo(name)


def parse_clock(text: str, *, closing: bool = False) -> time | None:
    """ "HH:MM" (00:00-23:59); "24:00" only as a closing time, returned as None (midnight)."""
    match = _CLOCK.match(text) if isinstance(text, str) else None
    if match is None or (match.group(3) and not closing):
        raise InvalidStoreHours(
            f"{text!r} is not a clock time HH:MM (00:00 to 23:59; 24:00 only to close)",
            {"time": str(text)},
        )
    if match.group(3):
        return None
    return time(int(match.group(1)), int(match.group(2)))


def parse_week(
    opening_hours: Mapping[str, Sequence[Sequence[str]]] | None,
) -> tuple[tuple[Interval, ...], ...] | None:
    """Per weekday, its intervals in order; a day left out is closed. Empty or None: always
    open."""
    if not opening_hours:
        return None
    unknown = sorted(set(opening_hours) - set(WEEKDAYS))
    if unknown:
        raise InvalidStoreHours(f"unknown day(s): {', '.join(unknown)}", {"days": unknown})
    return tuple(_parse_day(day, opening_hours.get(day, ())) for day in WEEKDAYS)


def _parse_day(day: str, given: Sequence[Sequence[str]]) -> tuple[Interval, ...]:
    if len(given) > MAX_INTERVALS_PER_DAY:
        raise InvalidStoreHours(
            f"{day}: at most {MAX_INTERVALS_PER_DAY} intervals a day", {"day": day}
        )
    intervals: list[Interval] = []
    for pair in given:
        if len(pair) != 2:
            raise InvalidStoreHours(f"{day}: an interval is [opens, closes]", {"day": day})
        opens = parse_clock(pair[0])
        closes = parse_clock(pair[1], closing=True)
        assert opens is not None  # "24:00" is refused as an opening time
        if closes is not None and closes <= opens:
            raise InvalidStoreHours(
                f"{day}: {pair[0]}-{pair[1]} closes before it opens (an interval past midnight "
                "is two intervals, one on each day)",
                {"day": day, "interval": list(pair)},
            )
        intervals.append((opens, closes))
    intervals.sort(key=lambda interval: interval[0])
    for (_, earlier_closes), (later_opens, _) in pairwise(intervals):
        if earlier_closes is None or earlier_closes > later_opens:
            raise InvalidStoreHours(f"{day}: intervals overlap", {"day": day})
    return tuple(intervals)


def parse_closed_dates(closed_dates: Iterable[str | date]) -> frozenset[date]:
    days = set()
    for value in closed_dates:
        if isinstance(value, date):
            days.add(value)
            continue
        try:
            days.add(date.fromisoformat(value))
        except (TypeError, ValueError):
            raise InvalidStoreHours(
                f"{value!r} is not a date YYYY-MM-DD", {"date": str(value)}
            ) from None
    if len(days) > MAX_CLOSED_DATES:
        raise InvalidStoreHours(f"at most {MAX_CLOSED_DATES} closed dates")
    return frozenset(days)


def check_lead_minutes(minutes: int) -> int:
    if not 0 <= minutes <= MAX_LEAD_MINUTES:
        raise InvalidStoreHours(
            f"pickup_lead_minutes must be 0 to {MAX_LEAD_MINUTES}", {"pickup_lead_minutes": minutes}
        )
    return minutes


def week_json(week: tuple[tuple[Interval, ...], ...] | None) -> dict[str, list[list[str]]]:
    """The stored (and shown) form of validated hours: every day, its intervals in order,
    "24:00" for midnight; {} when always open."""
    if week is None:
        return {}
    return {
        day: [[_clock(opens), _clock(closes)] for opens, closes in intervals]
        for day, intervals in zip(WEEKDAYS, week, strict=True)
    }


def _clock(value: time | None) -> str:
    return "24:00" if value is None else value.strftime("%H:%M")


def promise(
    now_utc: datetime, hours: StoreHours, lead_minutes: int, paused: bool = False
) -> PickupPromise:
    """The status a shopper is told and the earliest time an order placed at `now_utc` can be
    ready. The lead time runs only while the store is open: what is left of it at closing
    carries over to the next opening (closed dates skipped). An order cannot be ready at the
    very minute the store closes; it is ready at the next opening instead."""
    if paused:
        return PickupPromise(PickupStatus.PAUSED, None)
    ready = ready_at(now_utc, hours, lead_minutes)
    if ready is None:
        return PickupPromise(PickupStatus.CLOSED, None)
    today = now_utc.astimezone(zone(hours.timezone)).date()
    spans = hours.utc_intervals(today)
    if any(start <= now_utc < end for start, end in spans):
        return PickupPromise(PickupStatus.OPEN, ready)
    if any(start > now_utc for start, _ in spans):
        return PickupPromise(PickupStatus.CLOSED_NOW, ready)
    return PickupPromise(PickupStatus.CLOSED_TODAY, ready)


def ready_at(now_utc: datetime, hours: StoreHours, lead_minutes: int) -> datetime | None:
    """The earliest ready time, ignoring a pause; None when none lies within `HORIZON_DAYS`."""
    if now_utc.utcoffset() is None:
        raise ValueError("now_utc must be timezone-aware")
    now_utc = now_utc.astimezone(UTC)
    remaining = timedelta(minutes=lead_minutes)
    first_day = now_utc.astimezone(zone(hours.timezone)).date() - timedelta(days=1)
    for offset in range(HORIZON_DAYS + 2):
        for start, end in hours.utc_intervals(first_day + timedelta(days=offset)):
            begins = max(start, now_utc)
            if end <= begins:
                continue
            if remaining < end - begins:
                return begins + remaining
            remaining -= end - begins
    return None


def ready_by(
    now_utc: datetime,
    timezone: str,
    opening_hours: Mapping[str, Sequence[Sequence[str]]] | None,
    closed_dates: Iterable[str | date],
    lead_minutes: int,
    paused: bool,
) -> datetime | None:
    """`promise(...).ready_by` from a location's stored fields: None when paused or never."""
    hours = StoreHours.parse(timezone, opening_hours, closed_dates)
    return promise(now_utc, hours, check_lead_minutes(lead_minutes), paused).ready_by


def local_to_utc(moment: datetime, timezone: str) -> datetime:
    """A time a till sent: with an offset it is what it says; without one it is the store's
    wall clock (an ambiguous hour when the clocks go back is read as the first one)."""
    if moment.utcoffset() is not None:
        return moment.astimezone(UTC)
    return moment.replace(tzinfo=zone(timezone)).astimezone(UTC)
