"""Stock, movements, transfers and availability over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, Response, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter

from app.inventory import availability as stock_reads
from app.inventory import movements as inventory_movements
from app.inventory import transfer_receipts, transfers
from app.inventory.cursors import decode_time_cursor, next_time_cursor
from app.inventory.ledger import RecordedMovement
from app.inventory.queries import MovementRow
from app.inventory.rules import MovementKind, Quantities
from app.inventory.schemas import (
    AvailabilityOut,
    CountsIn,
    CountsOut,
    LevelOut,
    MovementCreatedOut,
    MovementIn,
    MovementOut,
    MovementPage,
    NearbyStoreOut,
    SafetyStockIn,
    SingleLevelOut,
    SkuStockOut,
    TransferIn,
    TransferLineOut,
    TransferOut,
    TransferPage,
    TransferReceiveIn,
)
from app.inventory.transfers import TransferView
from app.platform.http.deps import CallerDep, ContextDep
from app.platform.http.idempotency import answered_with_the_work, created
from app.platform.http.schemas import (
    CODE_RULE,
    Code,
    CodePath,
    CodeQuery,
    CursorQuery,
    decode_cursor,
    encode_cursor,
    with_offset,
)
from app.platform.idempotency.store import Answer


def single_level_out(sku: str, location: str, q: Quantities) -> SingleLevelOut:
    return SingleLevelOut(
        sku=sku,
        location=location,
        on_hand=q.on_hand,
        reserved=q.reserved,
        safety_stock=q.safety_stock,
        available=q.available,
        incoming=q.incoming,
    )


def movement_out(m: MovementRow) -> MovementOut:
    return MovementOut(
        id=m.id,
        sku=m.sku,
        location=m.location,
        kind=m.kind,
        on_hand_delta=m.on_hand_delta,
        reserved_delta=m.reserved_delta,
        safety_stock_delta=m.safety_stock_delta,
        incoming_delta=m.incoming_delta,
        channel=m.channel,
        reference=m.reference,
        reason=m.reason,
        actor=m.actor,
        created_at=m.created_at,
    )


def _movement_answer(r: RecordedMovement) -> Answer:
    """A recorded movement's 201, as stored for retries and sent: the same bytes either way."""
    return created(recorded_out(r))


def _transfer_answer(view: TransferView) -> Answer:
    """A new transfer's 201, as stored for retries and sent: the same bytes either way."""
    return created(transfer_out(view))


def recorded_out(r: RecordedMovement) -> MovementCreatedOut:
    c = r.change
    return MovementCreatedOut(
        movement=MovementOut(
            id=r.id,
            sku=c.sku,
            location=c.location,
            kind=c.kind,
            on_hand_delta=c.delta.on_hand,
            reserved_delta=c.delta.reserved,
            safety_stock_delta=c.delta.safety_stock,
            incoming_delta=c.delta.incoming,
            channel=c.channel,
            reference=c.reference,
            reason=c.reason,
            actor=c.actor,
            created_at=r.created_at,
        ),
        level=single_level_out(c.sku, c.location, r.level_after),
    )


def transfer_out(t: TransferView) -> TransferOut:
    return TransferOut(
        id=t.id,
        from_location=t.from_location,
        to_location=t.to_location,
        status=t.status,  # type: ignore[arg-type]  # a TransferStatus value
        lines=[
            TransferLineOut(
                sku=line.sku,
                quantity=line.quantity,
                received=line.received,
                in_transit=line.in_transit,
                over_received=line.over_received,
                lost=line.lost,
                returned=line.returned,
            )
            for line in t.lines
        ],
        created_by=t.created_by,
        created_at=t.created_at,
        received_at=t.received_at,
        shipped_at=t.shipped_at,
        cancelled_at=t.cancelled_at,
    )


RECEIVE_EVERYTHING = TransferReceiveIn()
"""No body: everything still in transit arrives."""

TransferStatusQuery = Literal["draft", "in_transit", "partially_received", "received", "cancelled"]


class StockController(Controller):
    path = "/v1/stock"
    tags = ["stock"]

    @post(
        "/movements",
        summary="Record a receipt, adjustment, damage or count",
        opt={"idempotency_required": True},
    )
    async def record_movement(
        self, data: JSONBody[MovementIn], ctx: ContextDep, principal: CallerDep
    ) -> Response[MovementCreatedOut]:
        return await answered_with_the_work(
            inventory_movements.record_movement(
                ctx,
                principal,
                location=data.location,
                sku=data.sku,
                kind=MovementKind(data.kind),
                quantity=data.quantity,
                reason=data.reason,
                reference=data.reference,
            ),
            _movement_answer,
        )

    @get("/movements", summary="The movement ledger, oldest first")
    async def list_movements(
        self,
        ctx: ContextDep,
        principal: CallerDep,
        sku: CodeQuery = None,
        location: CodeQuery = None,
        since: FromQuery[datetime | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
        cursor: CursorQuery = None,
    ) -> MovementPage:
        rows = await stock_reads.movements(
            ctx,
            principal,
            sku=sku,
            location=location,
            since=with_offset(since, "since"),
            after_id=decode_cursor(cursor),
            limit=limit,
        )
        next_cursor = encode_cursor(rows[-1].id) if len(rows) == limit else None
        return MovementPage(items=[movement_out(r) for r in rows], next_cursor=next_cursor)

    @post("/counts", summary="Record a stock count: one count movement per line")
    async def record_counts(
        self, data: JSONBody[CountsIn], ctx: ContextDep, principal: CallerDep
    ) -> CountsOut:
        movements = await inventory_movements.record_counts(
            ctx,
            principal,
            location=data.location,
            counts=[(line.sku, line.counted) for line in data.counts],
            reference=data.reference,
        )
        return CountsOut(location=data.location, results=[recorded_out(m) for m in movements])

    @get("/{sku:str}", summary="A SKU's stock at every location")
    async def sku_stock(self, sku: CodePath, ctx: ContextDep) -> SkuStockOut:
        result = await stock_reads.stock_of_sku(ctx, sku)
        return SkuStockOut(
            sku=result.sku,
            total_available=result.total_available,
            locations=[
                LevelOut(
                    location=row.location,
                    on_hand=row.quantities.on_hand,
                    reserved=row.quantities.reserved,
                    safety_stock=row.quantities.safety_stock,
                    available=row.quantities.available,
                    incoming=row.quantities.incoming,
                )
                for row in result.levels
            ],
        )

    @get("/{sku:str}/{location:str}", summary="A SKU's stock at one location")
    async def level(self, sku: CodePath, location: CodePath, ctx: ContextDep) -> SingleLevelOut:
        return single_level_out(sku, location, await stock_reads.stock_level(ctx, sku, location))

    @put(
        "/{sku:str}/{location:str}/safety-stock",
        summary="Set the units withheld from remote channels",
    )
    async def set_safety_stock(
        self,
        sku: CodePath,
        location: CodePath,
        data: JSONBody[SafetyStockIn],
        ctx: ContextDep,
        principal: CallerDep,
    ) -> SingleLevelOut:
        level = await inventory_movements.set_safety_stock(
            ctx, principal, sku=sku, location=location, safety_stock=data.safety_stock
        )
        return single_level_out(sku, location, level)


class TransferController(Controller):
    path = "/v1/transfers"
    tags = ["stock"]

    @post(
        "/", summary="Send stock from one location to another", opt={"idempotency_required": True}
    )
    async def create(
        self, data: JSONBody[TransferIn], ctx: ContextDep, principal: CallerDep
    ) -> Response[TransferOut]:
        return await answered_with_the_work(
            transfers.create_transfer(
                ctx,
                principal,
                from_location=data.from_location,
                to_location=data.to_location,
                lines=[(line.sku, line.quantity) for line in data.lines],
                draft=data.draft,
            ),
            _transfer_answer,
        )

    @get("/", summary="Transfers, oldest first; a store's staff see their stores' only")
    async def list_transfers(
        self,
        ctx: ContextDep,
        principal: CallerDep,
        location: CodeQuery = None,
        status: FromQuery[TransferStatusQuery | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        cursor: CursorQuery = None,
    ) -> TransferPage:
        views = await transfers.list_transfers(
            ctx,
            principal,
            location=location,
            status=status,
            after=decode_time_cursor(cursor),
            limit=limit,
        )
        next_cursor = next_time_cursor(views, limit)
        return TransferPage(items=[transfer_out(v) for v in views], next_cursor=next_cursor)

    @get("/{transfer_id:uuid}", summary="One transfer")
    async def get_one(self, transfer_id: FromPath[UUID], ctx: ContextDep) -> TransferOut:
        return transfer_out(await transfers.get_transfer(ctx, transfer_id))

    @post("/{transfer_id:uuid}/ship", summary="Ship a draft transfer", status_code=200)
    async def ship(
        self, transfer_id: FromPath[UUID], ctx: ContextDep, principal: CallerDep
    ) -> TransferOut:
        return transfer_out(await transfers.ship_transfer(ctx, principal, transfer_id))

    @post(
        "/{transfer_id:uuid}/cancel",
        summary="Cancel a transfer: what is in transit goes back to the source",
        status_code=200,
    )
    async def cancel(
        self, transfer_id: FromPath[UUID], ctx: ContextDep, principal: CallerDep
    ) -> TransferOut:
        return transfer_out(await transfers.cancel_transfer(ctx, principal, transfer_id))

    @post(
        "/{transfer_id:uuid}/receive",
        summary="Receive a transfer at its destination, all of it or in parts",
        status_code=200,
    )
    async def receive(
        self,
        transfer_id: FromPath[UUID],
        ctx: ContextDep,
        principal: CallerDep,
        data: JSONBody[TransferReceiveIn] = RECEIVE_EVERYTHING,
    ) -> TransferOut:
        view = await transfer_receipts.receive_transfer(
            ctx,
            principal,
            transfer_id,
            lines=None if data.lines is None else [(ln.sku, ln.quantity) for ln in data.lines],
            close=data.close,
        )
        return transfer_out(view)


@get(
    "/v1/availability",
    summary="Stores near a point that can fill every SKU asked for",
    tags=["stock"],
)
async def availability(
    ctx: ContextDep,
    sku: Annotated[list[Code], QueryParameter(min_items=1, max_items=50, description=CODE_RULE)],
    latitude: Annotated[float | None, Parameter(ge=-90, le=90)] = None,
    longitude: Annotated[float | None, Parameter(ge=-180, le=180)] = None,
    radius_km: Annotated[float, Parameter(gt=0, le=1000)] = 25.0,
    quantity: Annotated[int, Parameter(ge=1, le=1_000_000)] = 1,
    include_out_of_stock: Annotated[
        bool,
        QueryParameter(description="List every store within the radius, whatever it has"),
    ] = False,
    customer_id: Annotated[
        UUID | None,
        QueryParameter(
            description="Without latitude and longitude: start at this customer's preferred store"
        ),
    ] = None,
) -> AvailabilityOut:
    skus = list(dict.fromkeys(sku))
    latitude, longitude = await stock_reads.origin(ctx, latitude, longitude, customer_id)
    stores = await stock_reads.stores_near(
        ctx,
        skus=skus,
        latitude=latitude,
        longitude=longitude,
        radius_km=radius_km,
        quantity=quantity,
        include_out_of_stock=include_out_of_stock,
    )
    return AvailabilityOut(
        sku=skus[0] if len(skus) == 1 else skus,
        results=[
            NearbyStoreOut(
                location=s.location,
                name=s.name,
                distance_km=s.distance_km,
                available=s.available,
                pickup_enabled=s.pickup_enabled,
                pickup_status=s.pickup_status,
                pickup_ready_by=s.pickup_ready_by,
            )
            for s in stores
        ],
    )
