"""Consent records of a customer: the current answer per purpose (on the customer record, ``consents``), the history
of every change (items under the customer), and the one rule every capability asks before using a purpose
(``allows`` / ``may_use``): notifications before a message, analytics before sending a conversion.

Purposes and their rules (GDPR art. 6/7: consent only for what needs it, the last answer counts):

- ``marketing``: marketing as a whole, without a channel (ads, conversion analytics, profiling): only when granted.
- ``email`` / ``sms`` / ``whatsapp``: marketing messages on that channel: only when that channel is granted and
  ``marketing`` is not withdrawn (a withdrawn ``marketing`` stops marketing on every channel).
- ``transactional``: messages about the customer's own orders and bookings (contract, not consent): allowed unless
  withdrawn. Channels the customer does not want at all are notification preferences (``optOut``), not consents.
"""

from __future__ import annotations

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, VersionConflict, WriteOp
from chalicelib.core.errors import NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.pagination import Page, paginate
from chalicelib.customers import store
from chalicelib.customers.models import (
    CHANNEL_PURPOSES,
    PURPOSES,
    Consent,
    ConsentChanges,
    ConsentHistoryQuery,
    ConsentMethod,
    ConsentRecord,
    Consents,
    CustomerConsents,
    CustomerRecord,
    Purpose,
    RecordConsentRequest,
)

__all__ = [
    "allows",
    "changed_consents",
    "consent_history",
    "get_consents",
    "may_use",
    "record_consent",
    "record_consent_as",
]

_ATTEMPTS = 3


def allows(consents: Consents, purpose: Purpose, channel: str | None = None) -> bool:
    """Whether ``consents`` allow ``purpose`` (``marketing`` or ``transactional`` messages on ``channel`` when one is
    given, e.g. a marketing email). The module docstring has the rules."""
    marketing: Consent | None = consents.marketing
    if purpose == "transactional":
        return consents.transactional is None or consents.transactional.granted
    if purpose == "marketing" and channel is None:
        return marketing is not None and marketing.granted
    on: str = channel if purpose == "marketing" and channel is not None else purpose
    answer: Consent | None = getattr(consents, on, None) if on in CHANNEL_PURPOSES else None
    return answer is not None and answer.granted and (marketing is None or marketing.granted)


def may_use(tenant_id: str, customer_id: str, purpose: Purpose, channel: str | None = None) -> bool:
    """May BTRIX use ``purpose`` (on ``channel``) for this customer now? False for a customer that does not exist."""
    record = store.get_customer(tenant_id, customer_id)
    return record is not None and allows(record.consents, purpose, channel)


def _view(record: CustomerRecord) -> CustomerConsents:
    allowed = {purpose: allows(record.consents, purpose) for purpose in PURPOSES}
    return CustomerConsents(customer_id=record.id, consents=record.consents, allowed=allowed)


def _customer(tenant_id: str, customer_id: str, *, consistent: bool = False) -> CustomerRecord:
    record = store.get_customer(tenant_id, customer_id, consistent=consistent)
    if record is None:
        raise NotFound(detail=f"no customer {customer_id}")
    return record


def get_consents(principal: Principal, customer_id: str) -> CustomerConsents:
    """The customer's current consents and what they allow."""
    require(principal, Permission.CUSTOMERS_READ)
    return _view(_customer(principal.tenant_id, customer_id))


def consent_history(principal: Principal, customer_id: str, query: ConsentHistoryQuery) -> Page[ConsentRecord]:
    """The customer's consent history, newest first."""
    require(principal, Permission.CUSTOMERS_READ)
    tenant = principal.tenant_id
    _customer(tenant, customer_id)
    return paginate(
        Page[ConsentRecord],
        query,
        tenant_id=tenant,
        scope=f"customers:consents:{customer_id}",
        fetch=lambda start: store.list_consent_history(tenant, customer_id, query.limit, start),
        convert=lambda entry: entry,
    )


def changed_consents(
    principal: Principal,
    customer_id: str,
    current: Consents,
    changes: ConsentChanges | RecordConsentRequest | None,
    at: str,
) -> tuple[Consents, list[WriteOp]]:
    """``current`` with the answers in ``changes`` applied, and the history entries of those that changed (an
    answer that repeats the current one changes nothing, not even its time). For the customer's own writes."""
    if changes is None:
        return current, []
    if isinstance(changes, RecordConsentRequest):
        answers: dict[Purpose, bool] = {changes.purpose: changes.granted}
        method: ConsentMethod = changes.method
        policy, evidence = changes.policy_version, changes.evidence
    else:
        answers = {p: getattr(changes, p) for p in PURPOSES if getattr(changes, p) is not None}
        method, policy, evidence = "api", None, None
    updated: dict[str, Consent] = {}
    ops: list[WriteOp] = []
    for purpose, granted in answers.items():
        before: Consent | None = getattr(current, purpose)
        if before is not None and before.granted == granted and (policy is None or before.policy_version == policy):
            continue
        updated[purpose] = Consent(granted=granted, updated_at=at, method=method, policy_version=policy)
        entry = ConsentRecord(
            id=new_id(),
            customer_id=customer_id,
            purpose=purpose,
            granted=granted,
            method=method,
            policy_version=policy,
            evidence=evidence,
            recorded_by=principal.user_id,
            at=at,
        )
        ops.append(store.consent_entry_op(principal.tenant_id, entry))
    return current.model_copy(update=updated), ops


def record_consent(principal: Principal, customer_id: str, body: RecordConsentRequest) -> CustomerConsents:
    """Record a consent given or withdrawn (a form, a WhatsApp keyword, the API) and answer the current state."""
    require(principal, Permission.CUSTOMERS_WRITE)
    return record_consent_as(principal, customer_id, body)


def record_consent_as(principal: Principal, customer_id: str, body: RecordConsentRequest) -> CustomerConsents:
    """``record_consent`` for a caller that already decided it may (the WhatsApp gateway's keywords, as the
    system): the customer's consents change with a history entry, an audit entry and ``customer.updated``."""
    tenant = principal.tenant_id
    attempt = 1
    while True:
        before = _customer(tenant, customer_id, consistent=True)
        now = clock.now_iso()
        consents, entries = changed_consents(principal, customer_id, before.consents, body, now)
        if not entries:
            return _view(before)
        changes = {"consents": consents.model_dump(), "updatedAt": now}
        after = before.model_copy(update={"consents": consents, "updated_at": now, "version": before.version + 1})
        moved = VersionConflict(detail="the customer changed while the consent was recorded; retry")
        ops = [
            store.update_customer_op(before, after, changes).on_conflict(moved),
            *entries,
            audit_op(
                principal,
                "customer.consent_recorded",
                Kind.CUSTOMER,
                customer_id,
                before={"consents": before.consents.model_dump()},
                after={"consents": consents.model_dump(), "method": body.method, "evidence": body.evidence},
            ),
            event_put_op(new_event("customer.updated", tenant, {"changed": ["consents"]}, subject=customer_id)),
        ]
        try:
            Table().transact(ops)
        except VersionConflict:
            if attempt == _ATTEMPTS:
                raise
            attempt += 1
            continue
        return _view(after)
