"""Integration routes (ADMIN: integrations:manage, module integrations)."""

from __future__ import annotations

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page
from chalicelib.integrations import service
from chalicelib.integrations.models import (
    ConnectIntegrationRequest,
    Integration,
    IntegrationList,
    IntegrationTest,
    SyncLogEntry,
    SyncLogQuery,
)

blueprint = protected_blueprint(__name__, tag="integrations")


@blueprint.operation(
    "/integrations", response=IntegrationList, permission=Permission.INTEGRATIONS_MANAGE, module=Module.INTEGRATIONS
)
def list_integrations(principal: Principal) -> IntegrationList:
    """List integrations

    Every provider (bitrix24, billy, google_calendar, stripe, mercadopago, twilio, meta): connected or not, what
    identifies the account, the last sync, the last error and the last test. Credentials are never returned.
    """
    return service.list_integrations(principal)


@blueprint.operation(
    "/integrations/{provider}",
    "PUT",
    body=ConnectIntegrationRequest,
    response=Integration,
    problems=(404, 409, 422),
    permission=Permission.INTEGRATIONS_MANAGE,
    module=Module.INTEGRATIONS,
)
def connect_integration(provider: str, body: ConnectIntegrationRequest, principal: Principal) -> Integration:
    """Connect a provider

    Stores the credentials encrypted (replacing earlier ones; send the version you read to avoid overwriting a
    change). Fields per provider, camelCase: bitrix24 {domain, clientId, clientSecret, accessToken, refreshToken,
    memberId?}; billy {accessToken}; google_calendar {clientId, clientSecret, refreshToken, calendarId?}; stripe
    {secretKey}; mercadopago {accessToken}; twilio {accountSid, authToken, smsFrom?, whatsappFrom?}; meta
    {phoneNumberId, wabaId?, accessToken}. The answer never contains them.
    """
    return service.connect_integration(principal, service.parse_provider(provider), body)


@blueprint.operation(
    "/integrations/{provider}",
    "DELETE",
    status=204,
    problems=(404, 409),
    permission=Permission.INTEGRATIONS_MANAGE,
    module=Module.INTEGRATIONS,
)
def disconnect_integration(provider: str, principal: Principal) -> None:
    """Disconnect a provider

    Forgets the credentials; the sync log stays until it expires.
    """
    service.disconnect_integration(principal, service.parse_provider(provider))


@blueprint.operation(
    "/integrations/{provider}/test",
    "POST",
    response=IntegrationTest,
    problems=(404,),
    permission=Permission.INTEGRATIONS_MANAGE,
    module=Module.INTEGRATIONS,
)
def test_integration(provider: str, principal: Principal) -> IntegrationTest:
    """Test a connection

    Asks the provider who the stored credentials belong to. A refusal or an outage is reported as ok=false with
    the reason, and recorded in the sync log.
    """
    return service.test_integration(principal, service.parse_provider(provider))


@blueprint.operation(
    "/integrations/{provider}/logs",
    query=SyncLogQuery,
    response=Page[SyncLogEntry],
    problems=(404,),
    permission=Permission.INTEGRATIONS_MANAGE,
    module=Module.INTEGRATIONS,
)
def list_sync_logs(provider: str, query: SyncLogQuery, principal: Principal) -> Page[SyncLogEntry]:
    """List an integration's sync log

    Syncs and tests with the provider, newest first.
    """
    return service.list_sync_logs(principal, service.parse_provider(provider), query)
