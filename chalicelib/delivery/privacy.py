"""What the delivery platforms' orders hold about a person, for privacy requests: on each of the customer's platform
orders (iFood, Rappi), what the platform said of its customer — its id for them, the name, the phone line and the
delivery address it gave — and the link from the platform's customer id to the BTRIX customer. Erasure keeps the
orders (accounting records) with every copy of those values in the order's partition (the order, its audit trail)
replaced by the pseudonym, and drops the link, so that the person's next order on the platform makes a new customer.
The platform itself keeps its customer: recorded at the processors as manual (``privacy/processors.py``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.core.db import keys
from chalicelib.core.db.keys import Kind
from chalicelib.core.personal_data import DataSubject, declare_personal_data, scrub_partition
from chalicelib.delivery.service import CUSTOMER_REF
from chalicelib.integrations import service as integrations
from chalicelib.integrations.credentials import Provider
from chalicelib.orders import service as orders
from chalicelib.orders.models import Order, PlatformOrder

__all__ = ["erase_platform_customer", "export_platform_customer"]

_SHOWN = {
    "platform",
    "order_id",
    "display_id",
    "customer_id",
    "customer_name",
    "customer_phone",
    "address",
    "placed_at",
}


def _platform_orders(subject: DataSubject) -> list[tuple[Order, PlatformOrder]]:
    if subject.kind != "customer":
        return []
    found = (orders.find_order(subject.tenant_id, i) for i in orders.customer_order_ids(subject.tenant_id, subject.id))
    return [(order, order.platform) for order in found if order is not None and order.platform is not None]


def export_platform_customer(subject: DataSubject) -> list[dict[str, Any]]:
    """What each platform said of the customer, per order (``btrixOrderId``: the BTRIX order)."""
    return [
        {"btrixOrderId": order.id, **platform.model_dump(include=_SHOWN, exclude_none=True)}
        for order, platform in _platform_orders(subject)
    ]


def erase_platform_customer(subject: DataSubject) -> int:
    """Drop the links and pseudonymise the platform's copies of the customer; answers how many items changed."""
    changed = 0
    for order, platform in _platform_orders(subject):
        provider = next((p for p in Provider if p.value == platform.platform), None)
        if provider is not None and platform.customer_id is not None:
            integrations.drop_ref(subject.tenant_id, provider, CUSTOMER_REF, platform.customer_id)
        given = tuple(v for v in (platform.customer_id, platform.customer_name, platform.address) if v)
        copies = replace(
            subject,
            names=(*subject.names, *given),
            phones=(*subject.phones, *((platform.customer_phone,) if platform.customer_phone else ())),
        )
        changed += scrub_partition(keys.entity_pk(subject.tenant_id, Kind.ORDER, order.id), copies)
    return changed


declare_personal_data("delivery", exporter=export_platform_customer, eraser=erase_platform_customer)
