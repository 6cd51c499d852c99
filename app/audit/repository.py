"""The audit's own tables: audited balances, findings, checkpoints; and its snapshot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.audit.books_repository import Books
from app.audit.rules import Audited, Finding
from app.audit.stored_repository import (
    Checkpoint,
    StoredFinding,
    chunks,
    last_checkpoint,
    level_codes,
    open_findings,
)
from app.audit.tables import AuditCheckpoint, AuditedLevel, AuditFinding
from app.inventory.rules import LevelKey
from app.platform.tables import utcnow
from app.platform.uow import Repository


class AuditRepository(Repository):
    async def codes(self, keys: Iterable[LevelKey]) -> dict[LevelKey, tuple[str, str]]:
        """(location code, SKU) of each level, for people to read."""
        return await level_codes(await self.session.connection(), keys)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Books]:
        """One consistent view of every table for the whole run: REPEATABLE READ on
        PostgreSQL, a read transaction (one WAL snapshot) on SQLite. Nothing is written."""
        options: dict[str, Any] = (
            {"omnistock_readonly": True}
            if self._uow.is_sqlite
            else {"isolation_level": "REPEATABLE READ"}
        )
        async with self._uow.side_sessions() as session:
            connection = await session.connection(execution_options=options)
            try:
                yield Books(connection)
            finally:
                await session.rollback()

    async def last_checkpoint(self) -> Checkpoint | None:
        return await last_checkpoint(await self.session.connection())

    async def lock_last_checkpoint(self) -> int | None:
        """The newest checkpoint's id, its row locked: two runs cannot both advance it."""
        query = select(AuditCheckpoint.id).order_by(AuditCheckpoint.id.desc()).limit(1)
        if not self._uow.is_sqlite:
            query = query.with_for_update()
        found = await self.session.scalar(query)
        return int(found) if found is not None else None

    async def open_findings(self) -> list[StoredFinding]:
        return await open_findings(await self.session.connection())

    async def save_audited(self, audited: dict[LevelKey, Audited], at: datetime) -> None:
        if not audited:
            return
        rows = [
            {
                "location_id": key.location_id,
                "sku_id": key.sku_id,
                "on_hand": a.balance.on_hand,
                "reserved": a.balance.reserved,
                "safety_stock": a.balance.safety_stock,
                "incoming": a.balance.incoming,
                "version": a.version,
                "last_movement_id": a.last_movement_id,
                "audited_at": at,
            }
            for key, a in sorted(audited.items())
        ]
        insert = sqlite.insert if self._uow.is_sqlite else postgresql.insert
        for chunk in chunks(rows):
            stmt: Any = insert(AuditedLevel).values(list(chunk))
            await self.session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["location_id", "sku_id"],
                    set_={
                        name: stmt.excluded[name]
                        for name in (
                            "on_hand",
                            "reserved",
                            "safety_stock",
                            "incoming",
                            "version",
                            "last_movement_id",
                            "audited_at",
                        )
                    },
                )
            )

    async def record_findings(
        self,
        examined: set[LevelKey],
        findings: list[Finding],
        checkpoint_id: int,
        at: datetime,
        *,
        everything: bool,
    ) -> None:
        """Open the new findings, refresh those still there, and resolve the open ones of
        examined levels (every level, when `everything`) that this run did not find again."""
        still = {f.identity: f for f in findings}
        for stored in await self.open_findings():
            identity = stored.finding.identity
            if identity in still:
                finding = still.pop(identity)
                await self.session.execute(
                    update(AuditFinding)
                    .where(AuditFinding.id == stored.id)
                    .values(
                        summary=finding.summary,
                        expected=finding.expected,
                        found=finding.found,
                        rows=finding.rows,
                        last_seen_at=at,
                    )
                )
            elif everything or stored.finding.key in examined:
                await self.session.execute(
                    update(AuditFinding).where(AuditFinding.id == stored.id).values(resolved_at=at)
                )
        for finding in still.values():
            self.session.add(
                AuditFinding(
                    kind=finding.kind,
                    location_id=finding.key.location_id,
                    sku_id=finding.key.sku_id,
                    storefront_id=finding.storefront_id,
                    summary=finding.summary[:500],
                    expected=finding.expected,
                    found=finding.found,
                    rows=finding.rows,
                    first_seen_at=at,
                    last_seen_at=at,
                    first_checkpoint_id=checkpoint_id,
                )
            )
        await self.session.flush()

    async def add_checkpoint(self, checkpoint: Checkpoint) -> int:
        row = AuditCheckpoint(
            started_at=checkpoint.started_at,
            finished_at=checkpoint.finished_at,
            snapshot_at=checkpoint.snapshot_at,
            event_head=checkpoint.event_head,
            full=checkpoint.full,
            levels_examined=checkpoint.levels_examined,
            movements_read=checkpoint.movements_read,
            events_read=checkpoint.events_read,
            findings_open=checkpoint.findings_open,
            actor=checkpoint.actor,
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def set_findings_open(self, checkpoint_id: int) -> int:
        count = int(
            await self.session.scalar(
                select(func.count())
                .select_from(AuditFinding)
                .where(AuditFinding.resolved_at.is_(None))
            )
            or 0
        )
        await self.session.execute(
            update(AuditCheckpoint)
            .where(AuditCheckpoint.id == checkpoint_id)
            .values(findings_open=count, finished_at=utcnow())
        )
        return count
