"""Order use cases: create (prices snapshot, stock checked, idempotent), read, list, change, transition.

The status flow belongs to the workflow engine; this module registers orders with it and adds what a status
change means for an order, in the same transaction: the by-status list entry, and stock: reserved when the
order is accepted (it leaves its initial status), released when it ends cancelled, consumed when it ends
completed.

Orders are also what payment links pay: this module registers them with ``payments.payables``. Payments learns
an order's total, customer and channel (``describe``), and tells the order when it is paid or refunded
(``record_payment``): ``paymentStatus``, ``paymentId``, ``paidAt`` and ``amountRefunded`` are set on it, and a
paid order makes the transition its flow declares with ``trigger: payment`` from where it stands (PENDING → PAID
in the built-in restaurant and retail flows); a flow without one keeps the order where it is, paid.

Shipping reads an order for its caller (``readable_order``) or for its jobs (``find_order``), keeps the label it
bought on the order (``shipment_ops``) and moves it when the carrier posts or delivers it (``transition_on_carrier``:
the flow's ``shipped`` / ``delivered`` triggers).

Delivery platforms place and cancel theirs (``create_platform_order``, ``cancel_platform_order``: lines matched to
the catalog by the platform's external code, the unmatched ones kept for review) and follow them (``find_order``,
``outcome_of``).

One responsibility: an order's use cases, those of the order routes and those other capabilities call on an order
(a payment, a shipment, a delivery platform's order), under one set of rules (who may read it, its version, its
status flow and its stock).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.catalog.service import find_by_code, load_products
from chalicelib.core import clock, idempotency
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import QueryPage, Table, VersionConflict, WriteOp, update_op
from chalicelib.core.errors import Conflict, FieldError, Forbidden, InvalidInput, LimitExceeded, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.observability import emit_metric
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.customers.service import record_order_ops
from chalicelib.inventory import service as inventory
from chalicelib.orders import store
from chalicelib.orders.models import (
    Channel,
    CreateOrderRequest,
    FiscalDocument,
    Order,
    OrderLine,
    OrderListQuery,
    OrderRecord,
    OrderShipment,
    OrderTotals,
    Platform,
    PlatformLine,
    PlatformOrderDraft,
    TransitionRequest,
    UpdateOrderRequest,
)
from chalicelib.orders.totals import Priced, price_line, sum_lines
from chalicelib.payments import payables
from chalicelib.plans.catalog import get_plan
from chalicelib.tenants.service import load_tenant
from chalicelib.workflows import engine
from chalicelib.workflows.engine import EntitySpec, TransitionContext, TransitionEffects
from chalicelib.workflows.models import EntityType, HistoryEntry
from chalicelib.workflows.service import system_actor, workflow_version

__all__ = [
    "PLATFORM_ACTOR",
    "cancel_platform_order",
    "create_order",
    "create_platform_order",
    "customer_order_ids",
    "find_order",
    "get_order",
    "list_orders",
    "order_history",
    "outcome_of",
    "platform_actor",
    "readable_order",
    "record_fiscal_document",
    "shipment_ops",
    "transition_on_carrier",
    "transition_order",
    "update_order",
]

ENTITY_TYPE = EntityType.ORDER
_STOCK = "stockState"  # none → reserved → released | consumed (OrderRecord.stock_state)


def readable_order(principal: Principal, order_id: str) -> Order:
    """The order, for another capability acting for ``principal`` (a consistent read; 404 when there is none, 403
    when the caller's role may not see it)."""
    order = _load(principal, order_id, consistent=True)
    _may_read(principal, order)
    return order.view()


def find_order(tenant_id: str, order_id: str) -> Order | None:
    """The order (a consistent read), for BTRIX's own jobs; None when there is none."""
    order = store.get_order(tenant_id, order_id, consistent=True)
    return None if order is None else order.view()


def shipment_ops(actor: Principal, order: Order, shipment: OrderShipment) -> list[WriteOp]:
    """Set ``shipment`` on the order (if it is still at the version read): the write, its audit and an
    ``order.updated`` event with the shipment's status and tracking code."""
    changes = {
        "shipment": shipment.model_dump(mode="json", by_alias=True, exclude_none=True),
        "updatedAt": clock.now_iso(),
    }
    before = order.shipment.model_dump(mode="json", by_alias=True, exclude_none=True) if order.shipment else None
    data = {
        "shipmentStatus": shipment.status,
        **({"trackingCode": shipment.tracking_code} if shipment.tracking_code else {}),
    }
    moved = VersionConflict(detail="the order changed while its shipment was recorded; retry")
    return [
        update_op(*store.order_key(order.tenant_id, order.id), changes, expected_version=order.version, conflict=moved),
        audit_op(actor, "order.shipment_recorded", Kind.ORDER, order.id, before={"shipment": before}, after=changes),
        event_put_op(new_event("order.updated", order.tenant_id, data, subject=order.id)),
    ]


def transition_on_carrier(tenant_id: str, order_id: str, trigger: Literal["shipped", "delivered"], note: str) -> bool:
    """Make the move the order's flow declares for the carrier's ``trigger`` from where the order stands (a retail
    order: → SHIPPED when posted, → DELIVERED when delivered); False when the flow declares none from there."""
    for _ in range(_PAYMENT_ATTEMPTS):
        try:
            return engine.transition_on(tenant_id, ENTITY_TYPE, order_id, trigger, note) is not None
        except VersionConflict:
            continue
    raise Conflict(detail=f"the order {order_id} kept changing while its shipment moved it; retry")


def _stock_conflict() -> Conflict:
    return Conflict(detail="the stock changed while the order moved on; retry", code="stock-changed")


def _on_transition(ctx: TransitionContext) -> TransitionEffects:
    """What a status change means for an order: its by-status list entry, and its stock."""
    order = store.order_of(ctx.entity)
    changes: dict[str, Any] = store.by_status_keys(ctx.tenant_id, ctx.to_status, order.created_at, ctx.entity_id)
    ops: list[WriteOp] = []
    state = order.stock_state
    target = ctx.definition.status(ctx.to_status)
    # A platform line that matched no product has no stock to move (it is kept as text, for review).
    lines = [(line.product_id, line.quantity) for line in order.items if line.product_id is not None]
    actor, reference = ctx.actor.user_id, f"order:{ctx.entity_id}"
    if target.terminal:
        changes["closedAt"] = ctx.at
        if target.outcome == "cancelled":
            if state == "reserved":
                ops = inventory.release_ops(ctx.tenant_id, lines, actor, reference, field="items")
                changes[_STOCK] = "released"
        elif state != "consumed":
            from_reserved = state == "reserved"
            ops = inventory.consume_ops(
                ctx.tenant_id, lines, actor, reference, from_reserved=from_reserved, field="items"
            )
            changes[_STOCK] = "consumed"
    elif state == "none" and ctx.from_status == ctx.definition.initial:
        ops = inventory.reserve_ops(ctx.tenant_id, lines, actor, reference, field="items")
        changes[_STOCK] = "reserved"
    # The stock writes' own error, said in the order's words.
    stock_changed = _stock_conflict()
    ops = [op.on_conflict(stock_changed) if op.conflict is not None else op for op in ops]
    # The channel (and an end's outcome) ride on the status_changed event: the bus routes platform orders' changes
    # to their platform, which needs to tell a cancellation from a delivery.
    event_data: dict[str, Any] = {"channel": order.channel}
    if target.terminal and target.outcome:
        event_data["outcome"] = target.outcome
    return TransitionEffects(changes=changes, ops=ops, event_data=event_data)


# The order entity as the workflow engine runs it (listed in workflows.entities).
WORKFLOW = EntitySpec(ENTITY_TYPE, Kind.ORDER, _on_transition)


def _may_read(principal: Principal, order: OrderRecord) -> None:
    if principal.can(Permission.ORDERS_READ_ALL):
        return
    mine = principal.user_id in (order.created_by, order.assigned_to)
    if not (principal.can(Permission.ORDERS_READ_OWN) and mine):
        raise Forbidden(detail="this role sees only the orders it created or is assigned to")


def _load(principal: Principal, order_id: str, *, consistent: bool = False) -> OrderRecord:
    order = store.get_order(principal.tenant_id, order_id, consistent=consistent)
    if order is None:
        raise NotFound(detail=f"no order {order_id}")
    return order


def _new_order(
    tenant_id: str,
    moment: datetime,
    channel: Channel | Platform,
    lines: list[OrderLine],
    totals: OrderTotals,
    created_by: str,
    **fields: Any,
) -> tuple[Order, dict[str, Any]]:
    """A new order (its number taken) at the start of the tenant's order flow, and the flow's fields."""
    at = clock.isoformat(moment)
    workflow = engine.initial_fields(tenant_id, ENTITY_TYPE)
    order = Order(
        id=new_id(moment),
        tenant_id=tenant_id,
        number=store.next_order_number(tenant_id),
        channel=channel,
        items=lines,
        totals=totals,
        status=str(workflow[engine.STATUS]),
        workflow_version=int(workflow[engine.WORKFLOW_VERSION]),
        created_by=created_by,
        created_at=at,
        updated_at=at,
        status_changed_at=str(workflow[engine.STATUS_CHANGED_AT]),
        **fields,
    )
    return order, workflow


def create_order(principal: Principal, body: CreateOrderRequest, idempotency_key: str | None) -> Order:
    """Create an order: prices and names snapshot from the catalog, stock checked, the status flow started.

    With an ``Idempotency-Key`` a retry returns the first order instead of creating another.
    """
    require(principal, Permission.ORDERS_WRITE)
    return idempotency.once(
        principal.tenant_id, idempotency_key, "orders.create", body, Order, lambda seal: _create(principal, body, seal)
    )


def _create(principal: Principal, body: CreateOrderRequest, seal: idempotency.Seal) -> Order:
    tenant = load_tenant(principal.tenant_id)
    products = load_products(principal.tenant_id, [line.product_id for line in body.items])
    lines = []
    for i, (request, product) in enumerate(zip(body.items, products, strict=True)):
        priced = Priced(product.id, product.code, product.name, product.kind, product.price, product.tax_rate)
        try:
            lines.append(price_line(priced, request.quantity, request.discount))
        except ValueError as exc:
            raise InvalidInput(detail=str(exc), errors=(FieldError(f"body.items[{i}].discount", str(exc)),)) from exc
    # customerId and assignedTo are references (models.py): checked in the caller's tenant before this runs.
    inventory.check_available(principal.tenant_id, [(request.product_id, request.quantity) for request in body.items])
    totals = sum_lines(lines, tenant.currency)
    moment = clock.now()
    at = clock.isoformat(moment)
    order, workflow = _new_order(
        principal.tenant_id,
        moment,
        body.channel,
        lines,
        totals,
        principal.user_id,
        customer_id=body.customer_id,
        assigned_to=body.assigned_to,
        notes=body.notes,
    )
    plan = get_plan(tenant.plan_id)
    event_data = {"number": order.number, "total": totals.total.model_dump(), "channel": order.channel}
    if order.customer_id:
        event_data["customerId"] = order.customer_id
    if order.assigned_to:
        event_data["assignedTo"] = order.assigned_to
    month_full = LimitExceeded(
        detail=f"the plan {plan.name} allows {plan.max_transactions} orders a month (maxTransactions)",
        limit="maxTransactions",
    )
    ops = [
        store.monthly_limit_op(principal.tenant_id, moment, plan.max_transactions).on_conflict(month_full),
        *store.new_order_ops(order, workflow),
        *(record_order_ops(principal.tenant_id, order.customer_id, totals.total, at) if order.customer_id else []),
        audit_op(principal, "order.created", Kind.ORDER, order.id, after=order.model_dump()),
        event_put_op(new_event("order.created", principal.tenant_id, event_data, subject=order.id)),
        *seal(order),
    ]
    Table().transact(ops)
    engine.start(principal.tenant_id, ENTITY_TYPE, order.id)
    return order


# Who the audit log and the order name for what a delivery platform did (placed, cancelled).
PLATFORM_ACTOR = "platform"


def platform_actor(tenant_id: str) -> Principal:
    """The delivery platform as the actor of what it did in the tenant (an order placed, its customer added)."""
    return Principal(
        user_id=PLATFORM_ACTOR, tenant_id=tenant_id, role=system_actor(tenant_id).role, email="platform@system.invalid"
    )


def _platform_line(tenant_id: str, line: PlatformLine) -> OrderLine:
    product = find_by_code(tenant_id, line.external_code) if line.external_code else None
    unit = line.unit_price
    matched = product is not None and product.active
    priced = Priced(
        product.id if product is not None and matched else "",
        product.code if product is not None and matched else (line.external_code or ""),
        product.name if product is not None and matched else line.name,
        product.kind if product is not None and matched else "product",
        unit,
        # The platform's prices are what the customer paid, taxes included: kept as they are.
        Decimal(0),
    )
    priced_line = price_line(priced, line.quantity, None)
    return priced_line.model_copy(
        update={"product_id": priced.product_id or None, "external_code": line.external_code, "note": line.note}
    )


def create_platform_order(
    tenant_id: str, draft: PlatformOrderDraft, claim: Callable[[str], WriteOp], customer_id: str | None = None
) -> Order:
    """A delivery platform's order as a BTRIX order (channel ``ifood`` / ``rappi``), created by the platform, of
    ``customer_id`` (the BTRIX customer the platform's customer is linked to: counted in their statistics).

    Lines are matched to the catalog by the platform's external code (= the product's code); a line that matches
    nothing keeps its text and price and flags the order ``needsReview`` (never dropped). Prices are the
    platform's; its totals, fees, customer and address are kept in ``platform``. The plan's monthly order limit
    does not refuse it (the order exists on the platform already) and stock is not checked: it is reserved when the
    order is accepted, like any other. ``claim(order id)`` (the caller's once-only write for the platform's order
    id) is in the same transaction: a duplicate fails the whole create with ``TransactionConflict``.
    """
    # In the platform's currency (the tenant's, for a platform of the tenant's country), as the customer paid.
    lines = [_platform_line(tenant_id, line) for line in draft.lines]
    totals = sum_lines(lines, draft.platform.total.currency)
    order, workflow = _new_order(
        tenant_id,
        clock.now(),
        draft.platform.platform,
        lines,
        totals,
        PLATFORM_ACTOR,
        notes=draft.notes,
        platform=draft.platform,
        needs_review=any(line.product_id is None for line in lines),
        customer_id=customer_id,
    )
    event_data = {"number": order.number, "total": totals.total.model_dump(), "channel": order.channel}
    ops = [
        claim(order.id),
        *store.new_order_ops(order, workflow),
        *(record_order_ops(tenant_id, customer_id, totals.total, order.created_at) if customer_id else []),
        audit_op(platform_actor(tenant_id), "order.created", Kind.ORDER, order.id, after=order.model_dump()),
        event_put_op(new_event("order.created", tenant_id, event_data, subject=order.id)),
    ]
    Table().transact(ops)
    engine.start(tenant_id, ENTITY_TYPE, order.id)
    return order


def outcome_of(tenant_id: str, order: Order) -> str | None:
    """How the order ended (``completed`` / ``cancelled``), or None while its status is not a terminal one."""
    status = workflow_version(tenant_id, ENTITY_TYPE, order.workflow_version).definition.status(order.status)
    return status.outcome if status.terminal else None


def cancel_platform_order(tenant_id: str, order_id: str, reason: str) -> Order:
    """The platform cancelled the order: move it to its flow's cancelled end (from wherever it stands, as the system
    actor); an order that already ended stays as it is. The platform's reason is kept on the order."""
    for _ in range(_PAYMENT_ATTEMPTS):
        order = store.get_order(tenant_id, order_id, consistent=True)
        if order is None:
            raise NotFound(detail=f"no order {order_id}")
        definition = workflow_version(tenant_id, ENTITY_TYPE, order.workflow_version).definition
        if definition.status(order.status).terminal:
            return order.view()
        target = next(
            (
                t.to
                for t in definition.transitions
                if t.from_ == order.status
                and definition.status(t.to).terminal
                and definition.status(t.to).outcome == "cancelled"
            ),
            None,
        )
        if target is None:
            raise Conflict(detail=f"the order's flow declares no cancellation from {order.status}")
        if order.platform is not None and order.platform.cancel_reason != reason:
            platform = order.platform.model_copy(update={"cancel_reason": reason})
            try:
                Table().transact(
                    [
                        update_op(
                            *store.order_key(tenant_id, order_id),
                            {"platform": platform.model_dump(mode="json", by_alias=True), "updatedAt": clock.now_iso()},
                            expected_version=order.version,
                        )
                    ]
                )
            except VersionConflict:
                continue
            order = order.model_copy(update={"version": order.version + 1})
        try:
            note = f"cancelled on the platform: {reason}"
            result = engine.transition(system_actor(tenant_id), ENTITY_TYPE, order_id, target, note, order.version)
        except VersionConflict:
            continue
        return store.order_of(result.entity).view()
    raise Conflict(detail=f"the order {order_id} kept changing while it was cancelled; retry")


def get_order(principal: Principal, order_id: str) -> Order:
    """One order (roles that see only their own: the ones they created or are assigned to)."""
    order = _load(principal, order_id)
    _may_read(principal, order)
    return order.view()


def _bound(moment: datetime | None, default: str) -> str:
    return clock.isoformat(moment) if moment is not None else default


def list_orders(principal: Principal, query: OrderListQuery) -> Page[Order]:
    """One page of orders, newest first: by status or by customer, within a time range; own-only roles get
    the orders they created."""
    if query.status is not None and query.customer_id is not None:
        raise InvalidInput(
            detail="filter by status or by customer, not both",
            errors=(FieldError("query.customerId", "not together with status"),),
        )
    between = (_bound(query.from_, "0"), _bound(query.to, "9") + "~")
    if not principal.can(Permission.ORDERS_READ_ALL):
        require(principal, Permission.ORDERS_READ_OWN)
        return _list_own(principal, query)
    return paginate(
        Page[Order],
        query,
        tenant_id=principal.tenant_id,
        scope=f"orders:{query.status or ''}:{query.customer_id or ''}:{between[0]}:{between[1]}",
        fetch=lambda start: store.list_orders(
            principal.tenant_id,
            status=query.status,
            customer_id=query.customer_id,
            between=between,
            limit=query.limit,
            start_key=start,
        ),
        convert=OrderRecord.view,
    )


def _list_own(principal: Principal, query: PageParams) -> Page[Order]:
    def fetch(start: dict[str, str] | None) -> QueryPage[OrderRecord]:
        refs = store.list_user_order_ids(principal.tenant_id, principal.user_id, query.limit, start)
        ids = refs.items
        # The index holds ids only: the orders themselves are read at once (GetItem each, in parallel threads,
        # inside this request's tenant scope).
        scope = copy_context()
        with ThreadPoolExecutor(max_workers=8) as pool:
            found = list(pool.map(lambda i: scope.copy().run(store.get_order, principal.tenant_id, i), ids))
        return QueryPage(items=[order for order in found if order is not None], last_key=refs.last_key)

    return paginate(
        Page[Order],
        query,
        tenant_id=principal.tenant_id,
        scope=f"orders:own:{principal.user_id}",
        fetch=fetch,
        convert=OrderRecord.view,
    )


def update_order(principal: Principal, order_id: str, body: UpdateOrderRequest) -> Order:
    """Change who the order is assigned to, or its notes (optimistic locking on ``version``)."""
    require(principal, Permission.ORDERS_WRITE)
    order = _load(principal, order_id, consistent=True)
    _may_read(principal, order)
    if order.version != body.version:
        raise VersionConflict(detail=f"the order is at version {order.version}; reload and retry")
    changes = body.changes()  # a new assignee is a reference, checked before this runs
    changes["updatedAt"] = clock.now_iso()
    before = order.model_dump(exclude_none=True)
    after = {**before, **changes, "version": body.version + 1}
    data = {k: v for k, v in changes.items() if k != "updatedAt"}
    Table().transact(
        [
            update_op(*store.order_key(principal.tenant_id, order_id), changes, expected_version=body.version),
            audit_op(principal, "order.updated", Kind.ORDER, order_id, before=before, after=after),
            event_put_op(new_event("order.updated", principal.tenant_id, data, subject=order_id)),
        ]
    )
    return store.order_of(after).view()


def transition_order(principal: Principal, order_id: str, body: TransitionRequest) -> Order:
    """Move the order along its status flow (role, current status and version checked; one winner)."""
    require(principal, Permission.ORDERS_TRANSITION)
    _may_read(principal, _load(principal, order_id))
    result = engine.transition(principal, ENTITY_TYPE, order_id, body.to, body.note, body.version)
    return store.order_of(result.entity).view()


def order_history(principal: Principal, order_id: str, params: PageParams) -> Page[HistoryEntry]:
    """The order's status changes, oldest first."""
    _may_read(principal, _load(principal, order_id))
    return engine.history(principal.tenant_id, ENTITY_TYPE, order_id, params)


def record_fiscal_document(tenant_id: str, order_id: str, document: FiscalDocument) -> bool:
    """Keep the NF-e an ERP issued for the order (once: False when it has one already, or the order is gone)."""
    for _ in range(_PAYMENT_ATTEMPTS):
        order = store.get_order(tenant_id, order_id, consistent=True)
        if order is None or order.fiscal_document is not None:
            return False
        shown = document.model_dump(mode="json", by_alias=True)
        changes = {"fiscalDocument": shown, "updatedAt": clock.now_iso()}
        moved = VersionConflict(detail="the order changed while its NF-e was recorded")
        ops = [
            update_op(*store.order_key(tenant_id, order_id), changes, expected_version=order.version, conflict=moved),
            audit_op(system_actor(tenant_id), "order.nfe_recorded", Kind.ORDER, order_id, after=shown),
        ]
        try:
            Table().transact(ops)
        except VersionConflict:
            continue
        return True
    raise Conflict(detail=f"the order {order_id} kept changing while its NF-e was recorded; retry")


_PAYMENT_ATTEMPTS = 3
# The shop assistant's service principal (chalicelib.assistant.tools): its paid orders are its conversions.
_ASSISTANT = "assistant"


class _OrderPayables:
    """Orders as ``payments.payables`` see them."""

    def describe(self, tenant_id: str, payable_id: str, reader: Principal | None) -> payables.Payable:
        """The order's total, customer and channel; ``closed`` when it ended cancelled."""
        order = store.get_order(tenant_id, payable_id, consistent=True)
        if order is None:
            raise NotFound(detail=f"no order {payable_id}")
        if reader is not None:
            _may_read(reader, order)
        status = workflow_version(tenant_id, EntityType.ORDER, order.workflow_version).definition.status(order.status)
        closed = f"the order is {order.status}" if status.terminal and status.outcome == "cancelled" else None
        return payables.Payable(
            kind=ENTITY_TYPE,
            id=order.id,
            label=f"#{order.number}",
            total=order.totals.total,
            customer_id=order.customer_id,
            channel=order.channel,
            closed=closed,
        )

    def record_payment(self, tenant_id: str, payable_id: str, state: payables.PaymentState) -> None:
        """Set the payment fields on the order and, once paid, make its flow's ``payment`` transition."""
        for _ in range(_PAYMENT_ATTEMPTS):
            order = store.get_order(tenant_id, payable_id, consistent=True)
            if order is None:
                raise NotFound(detail=f"no order {payable_id}")
            stored = order.model_dump(mode="json", by_alias=True)
            wanted: dict[str, Any] = {"paymentStatus": state.status, "paymentId": state.payment_id}
            if state.status == "paid":
                wanted["paidAt"] = order.paid_at or state.at
            if not state.refunded.is_zero():
                wanted["amountRefunded"] = state.refunded.model_dump()
            if any(stored.get(name) != value for name, value in wanted.items()):
                changes = {**wanted, "updatedAt": clock.now_iso()}
                before = {name: stored.get(name) for name in wanted}
                event = new_event("order.updated", tenant_id, {"paymentStatus": state.status}, subject=payable_id)
                moved = VersionConflict(detail="the order changed while its payment was recorded")
                ops = [
                    update_op(
                        *store.order_key(tenant_id, payable_id),
                        changes,
                        expected_version=order.version,
                        conflict=moved,
                    ),
                    audit_op(
                        system_actor(tenant_id),
                        "order.payment_recorded",
                        Kind.ORDER,
                        payable_id,
                        before=before,
                        after=wanted,
                    ),
                    event_put_op(event),
                ]
                try:
                    Table().transact(ops)
                except VersionConflict:
                    continue
                if state.status == "paid" and order.payment_status != "paid" and order.created_by == _ASSISTANT:
                    emit_metric("AssistantPayments", "tenantId", tenant_id)  # a WhatsApp sale of the assistant, paid
            if state.status != "paid":
                return
            note = f"paid (payment {state.payment_id})"
            try:
                engine.transition_on(tenant_id, ENTITY_TYPE, payable_id, "payment", note)
            except VersionConflict:
                continue
            return
        raise Conflict(detail=f"the order {payable_id} kept changing while its payment was recorded; retry")


payables.register(ENTITY_TYPE, _OrderPayables())


def customer_order_ids(tenant_id: str, customer_id: str) -> list[str]:
    """The ids of every order of the customer (for privacy requests, in a background job)."""
    return store.customer_order_ids(tenant_id, customer_id)
