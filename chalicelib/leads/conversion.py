"""Lead conversion (``POST /leads/{id}/convert``): a lead becomes a sale in one transaction.

The conversion is the lead's transition to CONVERTED (``service.WORKFLOW``'s hook writes what ``converting`` hands
it): the customer (given, the lead's, found by the lead's email then phone, or created), the sale
(``sales.service``: its number, amounts, events), the lead CONVERTED with ``convertedSaleId`` and ``customerId``,
its claims freed, and ``lead.converted``. Two conversions of one lead: the lead's version lets one win; the other
gets 409. A sale number taken meanwhile is taken again (``sales.commit_new_sale``); a customer with the lead's
contact created meanwhile is linked on the next attempt. The sale then moves to ACCEPTED when its flow allows it
(the seed's conversion makes an accepted sale).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.core import idempotency
from chalicelib.core.db.store import VersionConflict
from chalicelib.core.errors import Conflict, Forbidden, InvalidInput, NotFound, invalid_field
from chalicelib.core.money import Money
from chalicelib.core.observability import logger
from chalicelib.customers.models import CreateCustomerRequest
from chalicelib.customers.service import NewCustomer, find_customer_id, load_customer, new_customer
from chalicelib.leads import service, store
from chalicelib.leads.models import Conversion, ConvertLeadRequest
from chalicelib.sales import service as sales
from chalicelib.sales.models import SaleOrigin
from chalicelib.workflows import engine
from chalicelib.workflows.models import EntityType
from chalicelib.workflows.service import workflow_version

__all__ = ["convert_lead"]

ACCEPTED = "ACCEPTED"
_CONVERT_ATTEMPTS = 5


def _check_convertible(tenant_id: str, item: Mapping[str, Any]) -> None:
    definition = workflow_version(tenant_id, EntityType.LEAD, int(item["workflowVersion"])).definition
    status = str(item["status"])
    if definition.status(status).terminal:
        converted = f" into sale {item['convertedSaleId']}" if item.get("convertedSaleId") else ""
        raise Conflict(detail=f"the lead is already {status}{converted}", code="lead-closed")
    if definition.find_transition(status, service.CONVERTED) is None:
        steps = [t.to for t in definition.transitions if t.from_ == status]
        raise Conflict(
            detail=f"a {status} lead cannot be converted yet; from {status} it goes to {', '.join(steps)}",
            code="not-convertible",
        )


def _customer(
    principal: Principal, item: Mapping[str, Any], body: ConvertLeadRequest
) -> tuple[str, NewCustomer | None]:
    """The sale's customer: given, the lead's, found by the lead's email then phone, else a new one."""
    tenant_id = principal.tenant_id
    chosen = body.customer_id or item.get("customerId")
    if chosen:
        try:
            return load_customer(tenant_id, str(chosen)).id, None
        except NotFound as exc:
            raise invalid_field("body.customerId", "no such customer", "unknown-customer") from exc
    found = find_customer_id(tenant_id, email=item.get("contactEmail"), phone=item.get("contactPhone"))
    if found is not None:
        return found, None
    request = CreateCustomerRequest.model_validate(
        {
            "name": item["contactName"],
            "email": item.get("contactEmail"),
            "phone": item.get("contactPhone"),
            "notes": f"From lead {item['id']}",
        }
    )
    created = new_customer(principal, request)
    return created.customer.id, created


def convert_lead(
    principal: Principal, lead_id: str, body: ConvertLeadRequest, idempotency_key: str | None
) -> Conversion:
    """Convert a lead into a sale in one transaction (see the module docstring)."""
    require(principal, Permission.LEADS_WRITE)
    require(principal, Permission.SALES_WRITE_OWN)
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        f"leads.convert:{lead_id}",
        body,
        Conversion,
        lambda seal: _convert(principal, lead_id, body, seal),
    )


def _convert(principal: Principal, lead_id: str, body: ConvertLeadRequest, seal: idempotency.Seal) -> Conversion:
    for _ in range(_CONVERT_ATTEMPTS):
        try:
            conversion = _convert_once(principal, lead_id, body, seal)
        except service.CustomerTaken:
            continue  # a customer with the lead's contact appeared meanwhile: link it this time
        accepted = _accept(principal, conversion.sale.id)
        return conversion.model_copy(update={"sale": accepted or conversion.sale})
    raise Conflict(detail="the lead's customer keeps changing; retry")


def _convert_once(principal: Principal, lead_id: str, body: ConvertLeadRequest, seal: idempotency.Seal) -> Conversion:
    tenant_id = principal.tenant_id
    item = service.load_item(tenant_id, lead_id, consistent=True)
    service.may_write(principal, item)
    if int(item["version"]) != body.version:
        raise VersionConflict(detail=f"the lead is at version {item['version']}; reload and retry")
    _check_convertible(tenant_id, item)
    service_id = body.service_id or item.get("interestServiceId")
    if service_id is None:
        raise invalid_field("body.serviceId", "the lead names no service: send the one sold", "service-required")
    customer_id, created = _customer(principal, item, body)
    estimate = item.get("estimatedValue")
    origin = item.get("origin") or {}
    draft = sales.SaleDraft(
        customer_id=customer_id,
        service_id=str(service_id),
        assigned_to=body.assigned_to or item.get("ownerId") or principal.user_id,
        scheduled_at=body.scheduled_at,
        source=item["source"],
        base_amount=body.base_amount or (Money.model_validate(estimate) if estimate else None),
        discount=body.discount,
        tax_rate=body.tax_rate,
        notes=body.notes,
        origin=SaleOrigin(
            lead_id=lead_id, conversation_id=origin.get("conversationId"), channel_id=origin.get("channelId")
        ),
    )
    # A conversion's body names the sale's fields as POST /sales does (body.customerId, body.baseAmount, ...).
    build = sales.prepare_sale(principal, draft, customer_exists=created is None)
    outcome: list[Conversion] = []

    def write(prepared: sales.PreparedSale) -> None:
        converted = {
            **item,
            "convertedSaleId": prepared.sale.id,
            "customerId": customer_id,
            "status": service.CONVERTED,
        }
        answer = Conversion(
            lead=store.lead_of({**converted, "version": int(item["version"]) + 1}),
            sale=prepared.sale,
            customer_id=customer_id,
            customer_created=created is not None,
        )
        conversion = service.PendingConversion(
            sale=prepared, customer_id=customer_id, created=created, seal=seal(answer)
        )
        with service.converting(conversion):
            try:
                result = engine.transition(
                    principal, service.ENTITY_TYPE, lead_id, service.CONVERTED, None, body.version
                )
            except sales.NumberTaken:
                raise
            except Conflict as exc:
                if not exc.retry:
                    raise
                # Cancelled by a concurrent transaction (another sale taking the year's counter): go again.
                raise sales.NumberTaken(detail=exc.detail, retry=True) from exc
        outcome.append(answer.model_copy(update={"lead": store.lead_of(result.entity)}))

    sales.commit_new_sale(build, write)
    return outcome[-1]


def _accept(principal: Principal, sale_id: str) -> Any:
    """Move the new sale to ACCEPTED when its flow goes there from where it starts (the seed's conversion makes
    an accepted sale); a flow without that step leaves it where it starts."""
    try:
        return sales.transition_sale(principal, sale_id, ACCEPTED, "converted from a lead", 1)
    except (InvalidInput, Forbidden, Conflict) as exc:
        logger.info("converted sale left in its first status", extra={"reason": str(exc)})
        return None
