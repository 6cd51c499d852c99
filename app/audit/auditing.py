"""Auditing the books: incrementally from the last checkpoint, or from scratch.

A run reads everything in one snapshot (`AuditRepository.snapshot`), so what it compares was
committed together. It picks the levels changed since the last checkpoint by the movements
written since (every ledger change writes one in the transaction that changes the level;
index ix_stock_movements_created_at), by the events committed since, by open findings and
by the orders whose events came since; it examines those whose version, movements or
quantities moved since their audited point, so its cost follows what changed, not the size
of the ledger. (An index on stock_levels.updated_at would also catch a level written
without any movement, but it makes every level update non-HOT: a hot row's updates/s fell by
30-60 % when measured, so such a write is left to `--full`.) Then,
when it may advance (`omnistock audit`, the periodic job, `POST /v1/ops/audit/run`), one
short transaction stores the audited balances, the findings and the new checkpoint; a
dry run (`GET /v1/ops/audit`) stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.audit.books_repository import Books
from app.audit.repository import AuditRepository
from app.audit.rules import (
    RETENTION_SLACK,
    Audited,
    Finding,
    Moved,
    audit_level,
    changed_after,
    needs_examining,
)
from app.audit.stored_repository import Checkpoint, StoredFinding
from app.inventory.rules import LevelKey
from app.platform.access import Permission, Principal
from app.platform.context import Context
from app.platform.tables import utcnow


@dataclass(frozen=True, slots=True)
class AuditRun:
    """What one run looked at and found."""

    full: bool
    started_at: datetime
    snapshot_at: datetime
    changed_after: datetime | None
    event_head: int
    levels_selected: int
    """Candidates the 'changed since' selection returned (the margin included)."""
    levels_examined: int
    """Candidates whose version or movements moved since they were audited, or with an open
    finding: the levels every check ran on."""
    movements_read: int
    events_read: int
    findings: list[Finding]
    advanced: bool = False
    checkpoint_id: int | None = None
    examined: set[LevelKey] = field(default_factory=set, repr=False)
    audited: dict[LevelKey, Audited] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class AuditView:
    """The last checkpoint, what this call checked and every open finding."""

    checkpoint: Checkpoint | None
    run: AuditRun
    open_findings: list[StoredFinding]
    new_findings: list[Finding]
    """Found by this call and not yet stored (a dry run) — empty once stored."""
    codes: dict[LevelKey, tuple[str, str]]
    """(location code, SKU) of every level named by a finding."""

    @property
    def is_clean(self) -> bool:
        return not self.open_findings and not self.new_findings


def _require(principal: Principal | None) -> None:
    if principal is not None:
        principal.require(Permission.AUDIT_BOOKS)


async def _examine(books: Books, full: bool, retention_days: int, started_at: datetime) -> AuditRun:
    in_flight = await books.oldest_in_flight()  # the first read: the snapshot starts here
    head = await books.event_head()
    last = await books.last_checkpoint()
    snapshot_at = started_at if in_flight is None else min(started_at, in_flight)
    since = None if full or last is None else changed_after(last.snapshot_at)
    if since is not None and await books.archived_since(since):
        since = None  # movements not yet audited were archived: fold from the totals
    reopened: set[LevelKey] = set()
    touched: set[LevelKey] = set()
    if since is None or last is None:
        levels = await books.all_levels()
        audited: dict[LevelKey, Audited] = {}
        moved = await books.all_moved()
        logged = await books.events_after(0, head)
        selected = len(levels)
        examine = levels
    else:
        logged = await books.events_after(last.event_head, head)
        reopened = await books.levels_with_open_findings()
        touched = set(logged.stock) | await books.levels_of_orders(logged.order_ids)
        candidates = (await books.levels_moved_after(since)) | reopened | touched
        found = {level.key: level for level in await books.levels(sorted(candidates))}
        keys = sorted(found)
        audited = await books.audited(keys)
        moved = await books.moved_since(audited, keys)
        selected = len(keys)
        examine = [
            found[key]
            for key in keys
            if key in touched
            or needs_examining(
                found[key], audited.get(key), moved.get(key, Moved()), key in reopened
            )
        ]
    examined_keys = [level.key for level in examine]
    holders = await books.holders(examined_keys)
    mappings = await books.mappings(examined_keys)
    retained_after = started_at - timedelta(days=retention_days) + RETENTION_SLACK
    findings: list[Finding] = []
    new_audited: dict[LevelKey, Audited] = {}
    for level in examine:
        outcome = audit_level(
            level,
            audited.get(level.key),
            moved.get(level.key, Moved()),
            holders.get(level.key, []),
            logged.stock.get(level.key, []),
            mappings.get(level.key, []),
            retained_after,
        )
        new_audited[level.key] = outcome.audited
        findings += outcome.findings
    return AuditRun(
        full=since is None,
        started_at=started_at,
        snapshot_at=snapshot_at,
        changed_after=since,
        event_head=head,
        levels_selected=selected,
        levels_examined=len(examine),
        movements_read=sum(m.count for k, m in moved.items() if k in new_audited),
        events_read=logged.read,
        findings=findings,
        examined=set(examined_keys),
        audited=new_audited,
    )


async def check_books(
    ctx: Context, principal: Principal | None, *, retention_days: int = 30
) -> AuditView:
    """`GET /v1/ops/audit`: the last checkpoint and its open findings, and what an
    incremental run would find now. Reads only; the checkpoint does not move."""
    _require(principal)
    async with ctx.uow(readonly=True) as uow:
        repo = AuditRepository.of(uow)
        async with repo.snapshot() as books:
            run = await _examine(books, False, retention_days, utcnow())
            checkpoint = await books.last_checkpoint()
            stored = await books.open_findings()
            known = {s.finding.identity for s in stored}
            new = [f for f in run.findings if f.identity not in known]
            codes = await books.codes(
                [f.key for f in run.findings] + [s.finding.key for s in stored]
            )
    return AuditView(checkpoint, run, stored, new, codes)


async def audit_books(
    ctx: Context,
    principal: Principal | None,
    *,
    full: bool = False,
    retention_days: int = 30,
    actor: str = "system",
) -> AuditView:
    """Audit and advance the checkpoint: the findings are stored (and those no longer
    found on the levels examined are resolved). If another run advanced the checkpoint
    meanwhile, this one stores nothing (it read an older snapshot)."""
    _require(principal)
    started_at = utcnow()
    async with ctx.uow(readonly=True) as uow, AuditRepository.of(uow).snapshot() as books:
        before = await books.last_checkpoint()
        run = await _examine(books, full, retention_days, started_at)
    async with ctx.uow() as uow:
        repo = AuditRepository.of(uow)
        latest = await repo.lock_last_checkpoint()
        if latest != (before.id if before is not None else None):
            stored = await repo.open_findings()
            codes = await repo.codes([s.finding.key for s in stored])
            return AuditView(await repo.last_checkpoint(), run, stored, [], codes)
        now = utcnow()
        checkpoint = Checkpoint(
            id=0,
            started_at=started_at,
            finished_at=now,
            snapshot_at=run.snapshot_at,
            event_head=run.event_head,
            full=run.full,
            levels_examined=run.levels_examined,
            movements_read=run.movements_read,
            events_read=run.events_read,
            findings_open=0,
            actor=principal.actor if principal is not None else actor,
        )
        checkpoint_id = await repo.add_checkpoint(checkpoint)
        await repo.save_audited(run.audited, now)
        await repo.record_findings(
            run.examined, run.findings, checkpoint_id, now, everything=run.full
        )
        await repo.set_findings_open(checkpoint_id)
        stored = await repo.open_findings()
        saved = await repo.last_checkpoint()
        codes = await repo.codes([s.finding.key for s in stored])
        await uow.commit()
    advanced = AuditRun(
        full=run.full,
        started_at=run.started_at,
        snapshot_at=run.snapshot_at,
        changed_after=run.changed_after,
        event_head=run.event_head,
        levels_selected=run.levels_selected,
        levels_examined=run.levels_examined,
        movements_read=run.movements_read,
        events_read=run.events_read,
        findings=run.findings,
        advanced=True,
        checkpoint_id=checkpoint_id,
    )
    return AuditView(saved, advanced, stored, [], codes)
