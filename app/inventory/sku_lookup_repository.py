"""Finding SKUs the way a person at a shelf names them: the code, a barcode, part of a name."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from app.inventory.tables import Sku
from app.platform.uow import Repository


class SkuLookupRepository(Repository):
    async def find(self, text: str, limit: int) -> list[Sku]:
        """Exact code or barcode first (any letter case of the code), then names and codes
        that contain `text`, in code order."""
        needle = text.strip()
        exact = await self.session.execute(
            select(Sku).where(or_(func.upper(Sku.sku) == needle.upper(), Sku.barcode == needle))
        )
        found = list(exact.scalars())
        if len(found) >= limit:
            return found[:limit]
        pattern = (
            "%" + needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        partial = await self.session.execute(
            select(Sku)
            .where(
                or_(
                    func.lower(Sku.name).like(pattern, escape="\\"),
                    func.lower(Sku.sku).like(pattern, escape="\\"),
                ),
                Sku.id.not_in([s.id for s in found]) if found else Sku.id.is_not(None),
            )
            .order_by(Sku.sku)
            .limit(limit - len(found))
        )
        return found + list(partial.scalars())
