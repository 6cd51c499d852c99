"""Request and response bodies of locations, with the store's day (opening hours, closed
dates, pickup lead time and pause)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from app.platform.http.schemas import (
    Code,
    Latitude,
    Longitude,
    Name,
    NonNegative,
    RequestExample,
)

# locations ----------------------------------------------------------------------------------
TimeZoneName = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}\Z",
        max_length=64,
        description="IANA time zone, e.g. Europe/London (an unknown one is 422)",
    ),
]

CLOCK_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)\Z"

ClockTime = Annotated[
    str, Meta(pattern=CLOCK_PATTERN, description="Local HH:MM; 24:00 only as a closing time")
]

OpenInterval = Annotated[
    list[ClockTime],
    Meta(min_length=2, max_length=2, description="[opens, closes], local time"),
]

DayHours = Annotated[
    list[OpenInterval],
    Meta(max_length=6, description="The day's intervals, not overlapping; [] closed all day"),
]


class OpeningHours(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Per weekday, when the store is open (local time); a day left out is closed that day;
    {} (no day at all) is always open."""

    mon: DayHours | UnsetType = UNSET
    tue: DayHours | UnsetType = UNSET
    wed: DayHours | UnsetType = UNSET
    thu: DayHours | UnsetType = UNSET
    fri: DayHours | UnsetType = UNSET
    sat: DayHours | UnsetType = UNSET
    sun: DayHours | UnsetType = UNSET

    schema_rules: ClassVar[RequestExample] = {
        "properties": {
            day: {
                "type": "array",
                "maxItems": 6,
                "description": "The day's [opens, closes] intervals, local time, not "
                "overlapping; [] closed all day",
                "items": {
                    "type": "array",
                    "minItems": 2,
                    "maxItems": 2,
                    "items": {"type": "string", "pattern": CLOCK_PATTERN},
                },
            }
            for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        }
    }
    """The nested bounds msgspec checks, which Litestar's document leaves out."""

    def as_dict(self) -> dict[str, list[list[str]]]:
        return {
            day: value
            for day in self.__struct_fields__
            if not isinstance(value := getattr(self, day), UnsetType)
        }


ClosedDates = Annotated[
    list[date], Meta(max_length=400, description="Local dates the store is closed")
]

LeadMinutes = Annotated[
    int, Meta(ge=0, le=10080, description="Open minutes an order needs before it is ready")
]


class LocationIn(Struct, forbid_unknown_fields=True):
    code: Code
    name: Name
    kind: Literal["store", "warehouse"]
    latitude: Latitude
    longitude: Longitude
    pickup_enabled: bool = False
    ship_enabled: bool = False
    default_safety_stock: NonNegative = 0
    timezone: TimeZoneName = "UTC"
    opening_hours: OpeningHours | None = None
    closed_dates: ClosedDates = []
    pickup_lead_minutes: LeadMinutes = 60
    pickup_paused: bool = False

    example: ClassVar[RequestExample] = {
        "code": "LDN-OXF",
        "name": "Oxford Street",
        "kind": "store",
        "latitude": 51.5152,
        "longitude": -0.1419,
        "pickup_enabled": True,
        "ship_enabled": False,
        "default_safety_stock": 1,
        "timezone": "Europe/London",
        "opening_hours": {
            "mon": [["09:00", "20:00"]],
            "tue": [["09:00", "20:00"]],
            "wed": [["09:00", "20:00"]],
            "thu": [["09:00", "21:00"]],
            "fri": [["09:00", "21:00"]],
            "sat": [["10:00", "13:00"], ["14:00", "19:00"]],
        },
        "closed_dates": ["2026-12-25", "2026-12-26"],
        "pickup_lead_minutes": 60,
    }


class LocationPatch(Struct, forbid_unknown_fields=True):
    """The fields to change, the others left as they are. A store's manager may change the
    pickup fields (timezone, opening_hours, closed_dates, pickup_lead_minutes, pickup_paused);
    the rest is admin's."""

    name: Name | UnsetType = UNSET
    latitude: Latitude | UnsetType = UNSET
    longitude: Longitude | UnsetType = UNSET
    pickup_enabled: bool | UnsetType = UNSET
    ship_enabled: bool | UnsetType = UNSET
    default_safety_stock: NonNegative | UnsetType = UNSET
    timezone: TimeZoneName | UnsetType = UNSET
    opening_hours: OpeningHours | UnsetType | None = UNSET  # null: always open
    closed_dates: ClosedDates | UnsetType = UNSET
    pickup_lead_minutes: LeadMinutes | UnsetType = UNSET
    pickup_paused: bool | UnsetType = UNSET

    example: ClassVar[RequestExample] = {
        "pickup_paused": True,
        "closed_dates": ["2026-12-25", "2026-12-26", "2027-01-01"],
    }


def _as_msgspec_checks_it(struct: type[Struct]) -> RequestExample:
    """A Struct's properties as msgspec checks them: Litestar's document drops the lower bound
    0 of a field that may be left out."""
    _, components = msgspec.json.schema_components(
        [struct], ref_template="#/components/schemas/{name}"
    )
    return {"properties": components[struct.__name__]["properties"]}


LocationPatch.schema_rules = _as_msgspec_checks_it(LocationPatch)  # type: ignore[attr-defined]


class LocationOut(Struct):
    code: str
    name: str
    kind: str
    latitude: float
    longitude: float
    pickup_enabled: bool
    ship_enabled: bool
    default_safety_stock: int
    created_at: datetime
    timezone: str
    opening_hours: dict[str, list[list[str]]]
    closed_dates: list[str]
    pickup_lead_minutes: int
    pickup_paused: bool
