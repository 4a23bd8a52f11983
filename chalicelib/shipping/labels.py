"""The label PDFs BTRIX keeps (a carrier whose label is downloaded, not linked: Correios): stored in the media bucket
under the tenant's prefix, shared as presigned GETs that expire soon (``shipping_label_url_ttl_s``: the PDF prints
the recipient), deleted when the customer's data is erased; and the link to an order's label, asked again when the
order's ``labelUrl`` expired.

One responsibility: an order's label file and the link to it.
"""

from __future__ import annotations

from datetime import timedelta

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.core import clock, files
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.orders.service import readable_order
from chalicelib.shipping import store
from chalicelib.shipping.models import ShipmentLabel

__all__ = ["delete_label", "label_key", "label_link", "label_url", "store_label"]

_PDF = "application/pdf"


def label_key(tenant_id: str, order_id: str) -> str:
    """The object key of an order's label PDF: ``T/<tenant>/shipping/labels/<order>.pdf``."""
    return f"T/{tenant_id}/shipping/labels/{order_id}.pdf"


def store_label(tenant_id: str, order_id: str, pdf: bytes) -> str:
    """Keep the order's label PDF (storing it again overwrites it: safe to retry); its object key."""
    key = label_key(tenant_id, order_id)
    files.put_file(key, pdf, _PDF, f'inline; filename="label-{order_id}.pdf"', "the label PDF")
    return key


def label_url(key: str) -> tuple[str, str]:
    """A presigned GET of a kept label and when it expires."""
    ttl = get_settings().shipping_label_url_ttl_s
    return files.presigned_get(key, ttl), clock.isoformat(clock.now() + timedelta(seconds=ttl))


def delete_label(key: str) -> None:
    """Delete a kept label PDF (gone already: nothing to do)."""
    files.delete_file(key, "the label PDF")


def label_link(principal: Principal, order_id: str) -> ShipmentLabel:
    """Where to download the order's label PDF now (a new presigned GET of a kept one; the provider's link)."""
    require(principal, Permission.ORDERS_READ_OWN)
    order = readable_order(principal, order_id)
    shipment = order.shipment
    if shipment is None:
        raise NotFound(detail="the order has no shipping label (POST /orders/{id}/shipments)")
    record = store.get_label(principal.tenant_id, order_id)
    if record is not None and record.label_file:
        url, until = label_url(record.label_file)
        return ShipmentLabel(provider=shipment.provider, url=url, expires_at=until)
    if shipment.label_url:
        return ShipmentLabel(provider=shipment.provider, url=shipment.label_url)
    detail = shipment.label_note or f"{shipment.provider} gave no label PDF for this shipment"
    raise Conflict(detail=detail, code="no-label-pdf")
