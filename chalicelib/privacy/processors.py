"""Erasure at the processors: the providers that hold a customer's data for the tenant are asked to erase it too.

Before anything is erased in BTRIX, ``plan`` reads what each connected processor holds from the capabilities' exports
(ids only: the Billy contact, the Bitrix24 CRM contacts of the customer's conversations, the Google Calendar events of
their sales; Stripe's customers are looked up by email then, while BTRIX still has it; a user's erasure asks only
Bitrix24, for conversations with their number) and records one outcome per processor on the erasure. After BTRIX's
own erasure, each pending processor gets a job on the integrations queue (``task:privacy.erase_<processor>``): it
calls the provider, records ``done`` (or, on its last attempt, ``failed`` with the error; the queue's retries and DLQ
redrive run it again) on the erasure.

- Stripe: ``DELETE /v1/customers/<id>`` for each customer with the email (payments stay at Stripe, as the law keeps).
- Billy.dk: the contact renamed to the pseudonym, its contact details removed (invoices stay).
- Bitrix24: ``crm.contact.delete`` of the contact the gateway made for each conversation.
- Google Calendar: each sale's event deleted.
- MercadoPago: no erasure API for a payer: recorded as ``manual`` (the tenant asks MercadoPago's support).
- Bling and Tiny (ERPs): the contact made for the customer's paid orders renamed to the pseudonym, its document,
  email and phones removed (sales orders and NF-e stay, as the law keeps them); planned when the ERP got one.
- Pagar.me: no way to delete a customer: each customer with the email (an order makes a new one) is replaced by one
  with only the pseudonym and a stand-in address (``PUT /customers/<id>``; charges stay).
- MelhorEnvio, Correios and JadLog: a label's recipient is the shipment's document (a bought label, a pre-posting, a
  shipment order), with no API to erase it: ``manual``, naming the labels (the tenant asks the carrier's support).
- iFood (and Rappi): the platform is its customers' controller and has no merchant API to erase one: ``manual``,
  naming the platform's orders (the person asks the platform).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.channels.tokens import caller
from chalicelib.core import clock
from chalicelib.core.db.store import Table, VersionConflict
from chalicelib.core.personal_data import DataSubject, erased_email
from chalicelib.erp import sync as erp
from chalicelib.integrations import jobs
from chalicelib.integrations.billy import client as billy
from chalicelib.integrations.billy.credentials import BillyCredentials
from chalicelib.integrations.bitrix24 import client as bitrix24
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.google_calendar import client as google
from chalicelib.integrations.google_calendar.credentials import GoogleCalendarCredentials
from chalicelib.integrations.http import ProviderError
from chalicelib.integrations.pagarme import client as pagarme
from chalicelib.integrations.pagarme.credentials import PagarmeCredentials
from chalicelib.integrations.service import find_credentials
from chalicelib.integrations.stripe import client as stripe
from chalicelib.integrations.stripe.credentials import StripeCredentials
from chalicelib.integrations.tokens import with_google_token
from chalicelib.privacy import store
from chalicelib.privacy.models import ErasureRecord, ProcessorName, ProcessorOutcome

__all__ = ["SOURCES", "enqueue", "plan"]

# The capabilities whose exports say what the processors hold.
SOURCES = frozenset({"customers", "sales", "conversations", "shipping", "delivery"})
_ACTIONS: dict[ProcessorName, str] = {
    "stripe": "DELETE the Stripe customers with the customer's email",
    "billy": "rename the Billy.dk contact to the pseudonym and remove its contact details",
    "bitrix24": "delete the Bitrix24 CRM contact of each conversation",
    "google_calendar": "delete the Google Calendar event of each sale",
    "mercadopago": "manual: MercadoPago has no API to erase a payer; ask its support to erase the payer's data",
    "bling": "rename the Bling contact of the customer to the pseudonym and remove its document and contact details",
    "tiny": "rename the Tiny ERP contact of the customer to the pseudonym and remove its document and contact details",
    "pagarme": "replace each Pagar.me customer with the customer's email by the pseudonym (no contacts, no document)",
    "melhorenvio": "manual: MelhorEnvio keeps a bought label's recipient (name, address, phone, document) as the "
    "shipment's record and has no API to erase it; ask its support to erase these labels' recipient",
    "correios": "manual: Correios keeps a pre-posting's recipient (name, address, phone) as the object's record and "
    "has no API to erase it; ask Correios (the contract's channel) to erase these pre-postings' recipient",
    "jadlog": "manual: JadLog keeps a shipment order's recipient (name, address, phone) and has no API to erase it; "
    "ask JadLog's support to erase these orders' recipient",
    "ifood": "manual: iFood is its customers' controller and has no merchant API to erase one; the person asks iFood "
    "to erase their data (these are iFood's ids of their orders)",
    "rappi": "manual: Rappi is its customers' controller and has no merchant API to erase one; the person asks Rappi "
    "to erase their data (these are Rappi's ids of their orders)",
}
# The shipping carriers that keep a label's recipient (``shipping/privacy.py`` exports the labels).
_CARRIERS: tuple[ProcessorName, ...] = ("melhorenvio", "correios", "jadlog")
# The delivery platforms whose customers are theirs (``delivery/privacy.py`` exports their orders).
_PLATFORMS: tuple[ProcessorName, ...] = ("ifood", "rappi")
_SAVE_ATTEMPTS = 5


def _outcome(processor: ProcessorName, targets: list[str], *, manual: bool = False) -> ProcessorOutcome:
    return ProcessorOutcome(
        processor=processor,
        status="manual" if manual else "pending",
        action=_ACTIONS[processor],
        targets=targets,
        updated_at=clock.now_iso(),
    )


def plan(subject: DataSubject, found: Mapping[str, list[dict[str, Any]]]) -> list[ProcessorOutcome]:
    """One outcome per processor that holds something of the person (provider failures propagate: the job retries
    before anything is erased). A user (staff member) is at no payment or accounting processor for the tenant: only
    the Bitrix24 contacts of conversations with their number."""
    tenant_id = subject.tenant_id
    planned: list[ProcessorOutcome] = []
    chats = [c for c in found.get("conversations") or [] if c.get("portalId") and c.get("bitrixContactId")]
    if chats:
        planned.append(_outcome("bitrix24", sorted({f"{c['portalId']}:{c['bitrixContactId']}" for c in chats})))
    if subject.kind != "customer":
        return planned
    customer = next(iter(found.get("customers") or []), {})
    stripe_credentials = find_credentials(tenant_id, Provider.STRIPE)
    email = customer.get("email")
    if isinstance(stripe_credentials, StripeCredentials) and isinstance(email, str):
        planned.append(_outcome("stripe", stripe.customers_with_email(stripe_credentials, email)))
    contact = customer.get("billyContactId")
    if contact and find_credentials(tenant_id, Provider.BILLY) is not None:
        planned.append(_outcome("billy", [str(contact)]))
    sales = [s for s in found.get("sales") or [] if s.get("id") and s.get("entity", "Sale") == "Sale"]
    if sales and find_credentials(tenant_id, Provider.GOOGLE_CALENDAR) is not None:
        planned.append(_outcome("google_calendar", [google.event_id(tenant_id, "sale", str(s["id"])) for s in sales]))
    if find_credentials(tenant_id, Provider.MERCADOPAGO) is not None:
        planned.append(_outcome("mercadopago", [], manual=True))
    for provider in erp.erps_holding(tenant_id, subject.id):
        planned.append(_outcome("bling" if provider is Provider.BLING else "tiny", [subject.id]))
    pagarme_credentials = find_credentials(tenant_id, Provider.PAGARME)
    if isinstance(pagarme_credentials, PagarmeCredentials) and isinstance(email, str):
        planned.append(_outcome("pagarme", pagarme.customers_with_email(pagarme_credentials, email)))
    for carrier in _CARRIERS:
        labels = sorted({str(x["labelId"]) for x in found.get("shipping") or [] if x.get("provider") == carrier})
        if labels:
            planned.append(_outcome(carrier, labels, manual=True))
    for platform in _PLATFORMS:
        ids = sorted({str(x["orderId"]) for x in found.get("delivery") or [] if x.get("platform") == platform})
        if ids:
            planned.append(_outcome(platform, ids, manual=True))
    return [p for p in planned if p.targets or p.status == "manual"]


def _task(processor: str) -> str:
    return f"privacy.erase_{processor}"


def enqueue(tenant_id: str, erasure_id: str, processor: str) -> None:
    """Queue the job that asks ``processor`` to erase."""
    jobs.enqueue_task(_task(processor), tenant_id, {"erasureId": erasure_id}, key=f"erase-{erasure_id}-{processor}")


def _record(tenant_id: str, erasure_id: str, processor: str, changes: dict[str, Any]) -> ErasureRecord | None:
    """Write ``changes`` to the processor's outcome on the erasure (other processors' jobs write the same item:
    read again and retry on a version conflict)."""
    for _ in range(_SAVE_ATTEMPTS):
        record = store.get_erasure(tenant_id, erasure_id)
        if record is None:
            return None
        outcomes = [
            (o.model_copy(update={**changes, "updated_at": clock.now_iso()}) if o.processor == processor else o)
            for o in record.processors
        ]
        op, after = store.revise_erasure_op(record, {"processors": [o.model_dump() for o in outcomes]})
        try:
            Table().transact([op.on_conflict(VersionConflict(detail="the erasure moved on"))])
        except VersionConflict:
            continue
        return after
    raise VersionConflict(detail=f"erasure {erasure_id} kept changing while {processor}'s outcome was recorded")


def _erase_stripe(tenant_id: str, targets: list[str], pseudonym: str) -> int:
    credentials = find_credentials(tenant_id, Provider.STRIPE)
    if not isinstance(credentials, StripeCredentials):
        raise jobs.JobFailed("Stripe is no longer connected")
    return sum(stripe.delete_customer(credentials, target) for target in targets)


def _erase_billy(tenant_id: str, targets: list[str], pseudonym: str) -> int:
    credentials = find_credentials(tenant_id, Provider.BILLY)
    if not isinstance(credentials, BillyCredentials):
        raise jobs.JobFailed("Billy.dk is no longer connected")
    company = billy.connect(credentials)
    for target in targets:
        billy.anonymise_contact(company, target, pseudonym)
    return len(targets)


def _erase_bitrix24(tenant_id: str, targets: list[str], pseudonym: str) -> int:
    erased = 0
    for target in targets:
        portal_id, contact_id = target.split(":", 1)
        erased += bitrix24.delete_contact(caller(tenant_id, portal_id), contact_id)
    return erased


def _erase_google(tenant_id: str, targets: list[str], pseudonym: str) -> int:
    deleted = 0
    for event in targets:

        def delete(credentials: GoogleCalendarCredentials, token: str, event: str = event) -> str:
            return google.delete_event(token, credentials.calendar_id, event)

        deleted += with_google_token(tenant_id, delete) == "deleted"
    return deleted


def _erase_at_erp(provider: Provider) -> Callable[[str, list[str], str], int]:
    def erase(tenant_id: str, targets: list[str], pseudonym: str) -> int:
        return sum(erp.erase_contact(tenant_id, provider, customer_id, pseudonym) for customer_id in targets)

    return erase


def _erase_pagarme(tenant_id: str, targets: list[str], pseudonym: str) -> int:
    credentials = find_credentials(tenant_id, Provider.PAGARME)
    if not isinstance(credentials, PagarmeCredentials):
        raise jobs.JobFailed("Pagar.me is no longer connected")
    for target in targets:
        pagarme.anonymise_customer(credentials, target, pseudonym, erased_email(pseudonym))
    return len(targets)


_ERASERS: dict[ProcessorName, tuple[Provider, Callable[[str, list[str], str], int]]] = {
    "stripe": (Provider.STRIPE, _erase_stripe),
    "billy": (Provider.BILLY, _erase_billy),
    "bitrix24": (Provider.BITRIX24, _erase_bitrix24),
    "google_calendar": (Provider.GOOGLE_CALENDAR, _erase_google),
    "bling": (Provider.BLING, _erase_at_erp(Provider.BLING)),
    "tiny": (Provider.TINY, _erase_at_erp(Provider.TINY)),
    "pagarme": (Provider.PAGARME, _erase_pagarme),
}


def _handler(processor: ProcessorName) -> jobs.JobHandler:
    erase = _ERASERS[processor][1]

    def run(job: jobs.Job) -> str | None:
        erasure_id = str(job.data["erasureId"])
        record = store.get_erasure(job.tenant_id, erasure_id)
        outcome = next((o for o in record.processors if o.processor == processor), None) if record else None
        if record is None or outcome is None or outcome.status == "done":
            return None
        try:
            count = erase(job.tenant_id, outcome.targets, record.pseudonym)
        except (ProviderError, jobs.JobFailed) as exc:
            last = isinstance(exc, jobs.JobFailed) or not exc.retryable or job.attempt >= jobs.MAX_ATTEMPTS
            changes: dict[str, Any] = {"attempts": outcome.attempts + 1, "last_error": str(exc)[:500]}
            _record(job.tenant_id, erasure_id, processor, {**changes, "status": "failed" if last else "pending"})
            raise
        _record(job.tenant_id, erasure_id, processor, {"attempts": outcome.attempts + 1, "status": "done"})
        return f"erasure {erasure_id}: {count} of {len(outcome.targets)} erased at {processor}"

    return run


for _name, (_provider, _) in _ERASERS.items():
    jobs.register(jobs.task_kind(_task(_name)), _handler(_name), provider=_provider, operation="privacy_erasure")
