"""What shipping holds about a person, for privacy requests: the labels bought for the customer's orders (provider,
label id, tracking code, the carrier's status, the URL of the label's PDF — which prints their name, address and
phone). Erasure keeps the labels (what was shipped, for the accounts), replaces every copy of the PDF's URL in the
order's partition (the label, the order's shipment, its audit trail) with the pseudonym and deletes the PDF BTRIX
keeps (Correios'). The recipient the provider
keeps (MelhorEnvio, Correios and JadLog have no API to erase a label's recipient) is recorded at the processors as
manual (``privacy/processors.py``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.core.personal_data import DataSubject, declare_personal_data, scrub_partition
from chalicelib.orders import service as orders
from chalicelib.shipping import labels, store
from chalicelib.shipping.models import LabelRecord

__all__ = ["erase_labels", "export_labels"]

_SHOWN = {"order_id", "provider", "label_id", "label_url", "tracking_code", "carrier_status", "state", "claimed_at"}


def _labels(subject: DataSubject) -> list[LabelRecord]:
    if subject.kind != "customer":
        return []
    found = (store.get_label(subject.tenant_id, i) for i in orders.customer_order_ids(subject.tenant_id, subject.id))
    return [label for label in found if label is not None]


def export_labels(subject: DataSubject) -> list[dict[str, Any]]:
    """The labels of the customer's orders."""
    return [label.model_dump(include=_SHOWN, exclude_none=True) for label in _labels(subject)]


def erase_labels(subject: DataSubject) -> int:
    """Pseudonymise every copy of the labels' PDF URLs and delete the PDFs kept; answers how many items changed."""
    changed = 0
    for label in _labels(subject):
        if label.label_file:
            labels.delete_label(label.label_file)
        if label.label_url:
            copies = replace(subject, names=(*subject.names, label.label_url))
            changed += scrub_partition(store.order_partition(subject.tenant_id, label.order_id), copies)
    return changed


declare_personal_data("shipping", exporter=export_labels, eraser=erase_labels)
