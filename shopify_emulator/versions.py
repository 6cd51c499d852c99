"""What changes between Admin API versions, in one place (see the facts doc, section 1)."""

from __future__ import annotations

import re
from dataclasses import dataclass

VERSION_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

# Schema shapes: before 2026-01 (compareQuantity only), 2026-01 to 2026-04 (both, plus the
# @idempotent directive), 2026-07 onwards (changeFromQuantity only).
ERA_LEGACY = "2025-10"
ERA_TRANSITION = "2026-01"
ERA_CURRENT = "2026-07"


@dataclass(frozen=True)
class VersionRules:
    version: str
    schema_era: str
    change_from_required: bool  # 2026-04: the key must be present (null opts out)
    idempotency_required_for_adjust: bool  # 2026-04: @idempotent is mandatory at runtime
    requires_stocked_item: bool  # ITEM_NOT_STOCKED_AT_LOCATION was removed in 2026-10

    @property
    def has_idempotent_directive(self) -> bool:
        return self.schema_era != ERA_LEGACY

    @property
    def has_change_from_quantity(self) -> bool:
        return self.schema_era != ERA_LEGACY

    @property
    def has_compare_quantity(self) -> bool:
        return self.schema_era != ERA_CURRENT


def is_valid_version(version: str) -> bool:
    return VERSION_PATTERN.match(version) is not None


def rules_for(version: str) -> VersionRules:
    """Versions compare as text because they are zero-padded `YYYY-MM`."""
    if version < "2026-01":
        era = ERA_LEGACY
    elif version < "2026-07":
        era = ERA_TRANSITION
    else:
        era = ERA_CURRENT
    return VersionRules(
        version=version,
        schema_era=era,
        change_from_required=version >= "2026-04",
        idempotency_required_for_adjust=version >= "2026-04",
        requires_stocked_item=version < "2026-10",
    )
