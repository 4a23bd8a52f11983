"""Integration use cases: list, connect (credentials validated per provider, encrypted), disconnect, test, logs;
and, for adapters and the capabilities that use them: ``load_credentials``, ``record_sync``, ``mark_disconnected``
(the provider refuses the credentials for good: ADMINs told), ``connected_tenants`` (a schedule's fan-out) and the
references that map our ids to the provider's (``find_ref`` / ``keep_ref`` / ``ref_claim_op`` / ``drop_ref`` /
``list_refs``: kept in ``integrations/references.py``, re-exported here for the adapters that reach them through
this service).

One responsibility: the integrations registry (a tenant's credentials per provider, their health, sync log and
references), for the routes and for every adapter; the providers' own calls live in ``integrations/<provider>``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from pydantic import SecretStr, ValidationError

from chalicelib.access.permissions import Permission, Role
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.crypto import decrypt_field, encrypt_field
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, TransactionConflict, VersionConflict, WriteOp, unscoped
from chalicelib.core.errors import InvalidInput, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.observability import logger
from chalicelib.core.pagination import Page, decode_cursor, encode_cursor
from chalicelib.core.problems import field_errors
from chalicelib.integrations import accounts, probes, store
from chalicelib.integrations.credentials import Credentials, Provider, credentials_model
from chalicelib.integrations.http import ProviderError
from chalicelib.integrations.models import (
    ConnectIntegrationRequest,
    Integration,
    IntegrationError,
    IntegrationList,
    IntegrationRecord,
    IntegrationTest,
    SyncLogEntry,
    SyncLogQuery,
)
from chalicelib.integrations.references import drop_ref, find_ref, keep_ref, list_refs, ref_claim_op

__all__ = [
    "DISCONNECTED_TEMPLATE",
    "PROVIDER_NAMES",
    "IntegrationNotConnected",
    "connect_integration",
    "connected_tenants",
    "disconnect_integration",
    "drop_ref",
    "find_credentials",
    "find_ref",
    "is_connected",
    "keep_ref",
    "list_integrations",
    "list_refs",
    "list_sync_logs",
    "load_credentials",
    "mark_disconnected",
    "parse_provider",
    "record_sync",
    "ref_claim_op",
    "store_credentials",
    "system_actor",
    "test_integration",
]

_MAX_ERROR_CHARS = 500
SYSTEM_ACTOR_ID = "system"
DISCONNECTED_TEMPLATE = "integration.disconnected"
PROVIDER_NAMES: dict[Provider, str] = {
    Provider.BITRIX24: "Bitrix24",
    Provider.BILLY: "Billy",
    Provider.GOOGLE_CALENDAR: "Google Calendar",
    Provider.STRIPE: "Stripe",
    Provider.MERCADOPAGO: "Mercado Pago",
    Provider.TWILIO: "Twilio",
    Provider.META: "WhatsApp (Meta)",
    Provider.MELHORENVIO: "Melhor Envio",
    Provider.PAGARME: "Pagar.me",
    Provider.IFOOD: "iFood",
    Provider.GA4: "Google Analytics 4",
    Provider.META_CAPI: "Meta Conversions API",
    Provider.RAPPI: "Rappi",
    Provider.BLING: "Bling",
    Provider.TINY: "Tiny ERP",
    Provider.CORREIOS: "Correios",
    Provider.JADLOG: "Jadlog",
}


class IntegrationNotConnected(NotFound):
    """Raised when a tenant has not connected the provider an operation needs."""


def parse_provider(value: str) -> Provider:
    """The provider named in a path; an unknown name is a 404 (there is no such resource)."""
    try:
        return Provider(value)
    except ValueError as exc:
        raise NotFound(
            detail=f"no integration provider {value!r}; known: {', '.join(p.value for p in Provider)}"
        ) from exc


def _credentials(provider: Provider, fields: dict[str, Any]) -> Credentials:
    try:
        return credentials_model(provider).model_validate(fields)
    except ValidationError as exc:
        errors = field_errors(exc, "body.credentials")
        raise InvalidInput(
            detail=f"{len(errors)} invalid credential field(s) for {provider.value}",
            errors=errors,
            title="Validation failed",
            code="validation-failed",
        ) from exc


def _plain(credentials: Credentials) -> str:
    # The secrets in clear only here, on their way into the encrypted field.
    fields: dict[str, Any] = {}
    for name, info in type(credentials).model_fields.items():
        value = getattr(credentials, name)
        if value is not None:
            fields[info.alias or name] = value.get_secret_value() if isinstance(value, SecretStr) else value
    return json.dumps(fields)


def _decrypt(record: IntegrationRecord) -> Credentials:
    fields = json.loads(decrypt_field(record.tenant_id, record.credentials))
    return credentials_model(record.provider).model_validate(fields)


def system_actor(tenant_id: str) -> Principal:
    """Who the audit log names for what an integration does by itself (a provider disconnecting it)."""
    return Principal(user_id=SYSTEM_ACTOR_ID, tenant_id=tenant_id, role=Role.ADMIN, email="integrations@system.invalid")


def find_credentials(tenant_id: str, provider: Provider) -> Credentials | None:
    """The tenant's decrypted credentials for ``provider``, or None when it is not connected (or was disconnected
    by the provider's refusal)."""
    record = store.get_integration(tenant_id, provider)
    return None if record is None or not record.connected else _decrypt(record)


def is_connected(tenant_id: str, provider: Provider) -> bool:
    """Whether the tenant's integration with ``provider`` is connected (one read, nothing decrypted)."""
    record = store.get_integration(tenant_id, provider)
    return record is not None and record.connected


def load_credentials(tenant_id: str, provider: Provider) -> Credentials:
    """The tenant's decrypted credentials for ``provider`` (the provider's model, e.g. ``TwilioCredentials``).

    For adapters; raises ``IntegrationNotConnected`` when the tenant has not connected the provider.
    """
    found = find_credentials(tenant_id, provider)
    if found is None:
        raise IntegrationNotConnected(detail=f"the {provider.value} integration is not connected")
    return found


def list_integrations(principal: Principal) -> IntegrationList:
    """Every provider with its state for the tenant: connected or not, identifiers, last sync, last error."""
    require(principal, Permission.INTEGRATIONS_MANAGE)
    connected = {record.provider: record for record in store.list_integrations(principal.tenant_id)}
    return IntegrationList(
        items=[Integration.of(connected[p]) if p in connected else Integration.disconnected(p) for p in Provider]
    )


def connect_integration(principal: Principal, provider: Provider, body: ConnectIntegrationRequest) -> Integration:
    """Store (or replace) the tenant's credentials for ``provider``, encrypted; answers without them."""
    require(principal, Permission.INTEGRATIONS_MANAGE)
    return store_credentials(principal, provider, _credentials(provider, body.credentials), body.version)


def _account_route_ops(tenant_id: str, provider: Provider, old: str | None, new: str | None) -> list[WriteOp]:
    # The webhook route of an account connected through BTRIX's shared app (``accounts``): the new one claimed
    # (409 when another tenant has it), the tenant's previous one released.
    ops = [] if new is None else [accounts.claim_op(tenant_id, provider, new)]
    return ops + ([accounts.release_op(tenant_id, provider, old)] if old is not None and old != new else [])


def _transact(ops: list[WriteOp], routed: bool) -> None:
    if not routed:
        Table().transact(ops)
        return
    with unscoped():  # the account route (ROUTE#ACCOUNT#…) is not the tenant's key space
        Table().transact(ops)


def store_credentials(
    principal: Principal,
    provider: Provider,
    credentials: Credentials,
    version: int | None = None,
    *,
    shared_account: str | None = None,
) -> Integration:
    """Store (or replace) validated credentials, encrypted, audited, with ``integration.connected|updated``;
    ``version`` (the one the caller read) guards a replace. A replace also clears a provider's disconnection.
    ``shared_account``: the provider's id of the account, connected through BTRIX's shared app (learnt from the
    provider at consent, never from the caller): its webhooks are routed to the tenant (``accounts``)."""
    current = store.get_integration(principal.tenant_id, provider, consistent=True)
    if current is not None and version is not None and version != current.version:
        raise VersionConflict(detail=f"the integration is at version {current.version}; reload and retry")
    now = clock.now_iso()
    record = IntegrationRecord(
        tenant_id=principal.tenant_id,
        provider=provider,
        credentials=encrypt_field(principal.tenant_id, _plain(credentials)),
        summary=credentials.summary(),
        connected_at=current.connected_at if current and current.connected else now,
        updated_at=now,
        shared_account=shared_account,
        version=current.version + 1 if current else 1,
    )
    action = "integration.updated" if current else "integration.connected"
    shown = {"provider": provider.value, "summary": record.summary}
    changed = VersionConflict(detail="the integration changed meanwhile; reload and retry")
    ops = [
        store.put_integration_op(record, expected_version=current.version if current else None).on_conflict(changed),
        # New credentials: an access token (and a rotated refresh token) of the old ones must not outlive them.
        store.delete_access_token_op(principal.tenant_id, provider),
        audit_op(
            principal,
            action,
            Kind.INTEGRATION,
            provider.value,
            before={**shown, "summary": current.summary} if current else None,
            after=shown,
        ),
        event_put_op(new_event(action, principal.tenant_id, {"provider": provider.value}, subject=provider.value)),
    ]
    routes = _account_route_ops(
        principal.tenant_id, provider, current.shared_account if current else None, shared_account
    )
    _transact(ops + routes, bool(routes))
    return Integration.of(record)


def disconnect_integration(principal: Principal, provider: Provider) -> None:
    """Forget the tenant's credentials for ``provider`` (its sync log stays until it expires)."""
    require(principal, Permission.INTEGRATIONS_MANAGE)
    current = store.get_integration(principal.tenant_id, provider, consistent=True)
    if current is None:
        raise IntegrationNotConnected(detail=f"the {provider.value} integration is not connected")
    changed = VersionConflict(detail="the integration changed meanwhile; reload and retry")
    routes = _account_route_ops(principal.tenant_id, provider, current.shared_account, None)
    _transact(
        [
            *routes,
            store.delete_integration_op(principal.tenant_id, provider, current.version).on_conflict(changed),
            audit_op(
                principal,
                "integration.disconnected",
                Kind.INTEGRATION,
                provider.value,
                before={"provider": provider.value, "summary": current.summary},
            ),
            event_put_op(
                new_event(
                    "integration.disconnected",
                    principal.tenant_id,
                    {"provider": provider.value},
                    subject=provider.value,
                )
            ),
        ],
        bool(routes),
    )


def mark_disconnected(tenant_id: str, provider: Provider, reason: str) -> bool:
    """The provider refuses the credentials for good (a dead refresh token): mark the integration disconnected with
    ``reason`` (once: False if it already was, or is gone), log it, emit ``integration.disconnected`` and email the
    tenant's ADMINs (template ``integration.disconnected``). Jobs that need it then find it not connected."""
    from chalicelib.notifications.outbox import request_message_ops
    from chalicelib.tenants.service import load_tenant

    current = store.get_integration(tenant_id, provider, consistent=True)
    if current is None or not current.connected:
        return False
    moment = clock.now()
    at = clock.isoformat(moment)
    reason = _short(reason)
    entry = SyncLogEntry(id=new_id(moment), provider=provider, operation="disconnect", ok=False, error=reason, at=at)
    data = {"provider": provider.value, "reason": reason}
    variables = {"providerName": PROVIDER_NAMES[provider], "reason": reason}
    ops = [
        store.disconnect_op(tenant_id, provider, current.version, reason, at, {"at": at, "message": reason}),
        store.sync_log_op(tenant_id, entry),
        audit_op(
            system_actor(tenant_id),
            "integration.disconnected",
            Kind.INTEGRATION,
            provider.value,
            before={"provider": provider.value, "summary": current.summary},
            after={"provider": provider.value, "reason": reason},
        ),
        event_put_op(new_event("integration.disconnected", tenant_id, data, subject=provider.value)),
        *request_message_ops(
            tenant_id, "email", "role:ADMIN", DISCONNECTED_TEMPLATE, load_tenant(tenant_id).locale, variables
        ),
    ]
    try:
        Table().transact(ops)
    except TransactionConflict:
        return False  # reconnected or disconnected meanwhile
    logger.warning("integration disconnected by its provider", extra={"provider": provider.value, "reason": reason})
    return True


def connected_tenants(provider: Provider) -> Iterator[str]:
    """The tenants whose integration with ``provider`` is connected (a platform list, read page by page)."""
    start: dict[str, str] | None = None
    while True:
        tenants, page = store.connected_tenants(provider, 100, start)
        yield from tenants
        if page.last_key is None:
            return
        start = page.last_key


def _short(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"


def record_sync(
    tenant_id: str,
    provider: Provider,
    operation: str,
    *,
    ok: bool,
    detail: str | None = None,
    error: str | None = None,
    duration_ms: int | None = None,
) -> SyncLogEntry:
    """Log one sync an adapter made (``operation``: ``poll_invoices``, ``refresh_token``, ``test``…) and update
    the integration's last sync (on success) or last error (on failure). For adapters and workers."""
    moment = clock.now()
    at = clock.isoformat(moment)
    entry = SyncLogEntry(
        id=new_id(moment),
        provider=provider,
        operation=operation,
        ok=ok,
        detail=_short(detail) if detail else None,
        error=_short(error) if error else None,
        duration_ms=duration_ms,
        at=at,
    )
    ops = [store.sync_log_op(tenant_id, entry)]
    if store.get_integration(tenant_id, provider) is not None:
        health: dict[str, Any] = (
            {"lastSyncAt": at}
            if ok
            else {"lastError": IntegrationError(at=at, message=entry.error or "failed").model_dump()}
        )
        ops.append(store.update_status_op(tenant_id, provider, health))
    try:
        Table().transact(ops)
    except TransactionConflict:
        # Disconnected between the read and the write: the log entry alone is still worth keeping.
        Table().transact(ops[:1])
    return entry


def test_integration(principal: Principal, provider: Provider) -> IntegrationTest:
    """Call the provider's "who am I" with the stored credentials; record the outcome on the integration and
    in its sync log. A refusal or an outage is a result (``ok: false``), not an error of this request."""
    require(principal, Permission.INTEGRATIONS_MANAGE)
    credentials = load_credentials(principal.tenant_id, provider)
    started = time.monotonic()
    try:
        account: str | None = probes.whoami(provider, credentials, principal.tenant_id)
        ok, detail = True, f"connected as {account}"
    except ProviderError as exc:
        account, ok, detail = None, False, exc.detail
    elapsed = int((time.monotonic() - started) * 1000)
    result = IntegrationTest(ok=ok, account=account, detail=detail, latency_ms=elapsed, tested_at=clock.now_iso())
    entry = record_sync(
        principal.tenant_id,
        provider,
        "test",
        ok=ok,
        detail=detail if ok else None,
        error=None if ok else detail,
        duration_ms=elapsed,
    )
    remove = ("lastError",) if ok else ()
    Table().transact(
        [
            store.update_status_op(principal.tenant_id, provider, {"lastTest": result.model_dump()}, remove),
            audit_op(
                principal, "integration.tested", Kind.INTEGRATION, provider.value, after={"ok": ok, "logId": entry.id}
            ),
        ]
    )
    return result


def list_sync_logs(principal: Principal, provider: Provider, query: SyncLogQuery) -> Page[SyncLogEntry]:
    """One page of the integration's sync log, newest first."""
    require(principal, Permission.INTEGRATIONS_MANAGE)
    scope = f"integrations:logs:{provider.value}"
    start = decode_cursor(query.cursor, tenant_id=principal.tenant_id, scope=scope) if query.cursor else None
    items, page = store.list_sync_logs(principal.tenant_id, provider, query.limit, start)
    cursor = encode_cursor(page.last_key, tenant_id=principal.tenant_id, scope=scope) if page.last_key else None
    return Page[SyncLogEntry](items=items, next_cursor=cursor)
