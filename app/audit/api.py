"""The books' audit over HTTP: `GET /v1/ops/audit` (reads only), `POST /v1/ops/audit/run`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import QueryParameter

from app.audit.auditing import AuditView, audit_books, check_books
from app.audit.rules import Finding
from app.audit.schemas import AuditOut, CheckedOut, CheckpointOut, FindingOut
from app.audit.stored_repository import Checkpoint
from app.platform.http.deps import CallerDep, ContextDep


def _retention_days(state: State) -> int:
    settings = getattr(state, "settings", None)
    return int(getattr(settings, "event_retention_days", 30))


def _checkpoint_out(c: Checkpoint) -> CheckpointOut:
    return CheckpointOut(
        id=c.id,
        started_at=c.started_at,
        finished_at=c.finished_at,
        snapshot_at=c.snapshot_at,
        event_head=c.event_head,
        full=c.full,
        levels_examined=c.levels_examined,
        movements_read=c.movements_read,
        events_read=c.events_read,
        findings_open=c.findings_open,
        actor=c.actor,
    )


def _finding_out(
    view: AuditView, f: Finding, first: datetime | None, last: datetime | None
) -> FindingOut:
    location, sku = view.codes.get(f.key, (str(f.key.location_id), str(f.key.sku_id)))
    return FindingOut(
        check=f.kind,
        location=location,
        sku=sku,
        summary=f.summary,
        expected=f.expected,
        found=f.found,
        rows=f.rows,
        storefront_id=f.storefront_id,
        first_seen_at=first,
        last_seen_at=last,
    )


def audit_out(view: AuditView) -> AuditOut:
    run = view.run
    return AuditOut(
        checkpoint=None if view.checkpoint is None else _checkpoint_out(view.checkpoint),
        checked=CheckedOut(
            full=run.full,
            changed_after=run.changed_after,
            levels_selected=run.levels_selected,
            levels_examined=run.levels_examined,
            movements_read=run.movements_read,
            events_read=run.events_read,
            findings=len(run.findings),
            advanced=run.advanced,
            checkpoint_id=run.checkpoint_id,
        ),
        open_findings=[
            _finding_out(view, s.finding, s.first_seen_at, s.last_seen_at)
            for s in view.open_findings
        ]
        + [_finding_out(view, f, None, None) for f in view.new_findings],
    )


class AuditController(Controller):
    path = "/v1/ops/audit"
    tags = ["operations"]

    @get(
        "/",
        summary="The books' audit: the last checkpoint, its open findings, and what changed since",
        description=(
            "Admins only. Checks, in one snapshot and from the last checkpoint, the levels "
            "changed since: each level equals its audited balance plus its movements since, "
            "`reserved` is what open orders and cart holds promise, each change has its "
            "`stock.changed` event, and each storefront-mapped level is pending or pushed. "
            "Reads only: the findings of this call are listed (without `first_seen_at`) but "
            "not stored, and the checkpoint does not move; `POST /v1/ops/audit/run`, the "
            "periodic job and `omnistock audit` advance it."
        ),
    )
    async def show(self, ctx: ContextDep, principal: CallerDep, state: State) -> AuditOut:
        view = await check_books(ctx, principal, retention_days=_retention_days(state))
        return audit_out(view)

    @post(
        "/run",
        summary="Audit now and advance the checkpoint; findings are stored until fixed",
        status_code=200,
    )
    async def run(
        self,
        ctx: ContextDep,
        principal: CallerDep,
        state: State,
        full: Annotated[
            bool, QueryParameter(description="re-audit every level from the whole ledger")
        ] = False,
    ) -> AuditOut:
        view = await audit_books(ctx, principal, full=full, retention_days=_retention_days(state))
        return audit_out(view)
