"""Integration routes (ADMIN: integrations:manage, module integrations)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page
from chalicelib.integrations import consent, jobs, service
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.models import (
    BlingConsentRequest,
    ConnectIntegrationRequest,
    ConsentStart,
    Integration,
    IntegrationList,
    IntegrationTest,
    MelhorEnvioConsentRequest,
    OAuthCallbackQuery,
    SyncLogEntry,
    SyncLogQuery,
    SyncRequested,
)

blueprint = protected_blueprint(__name__, tag="integrations")
View = Callable[..., Any]


def _consent_callback(slug: str, flow: consent.ConsentFlow, title: str, kept: str, conflict: str | None = None) -> View:
    """The public route ``GET /integrations/<slug>/callback`` where the provider sends the browser back after its
    consent: one shape for every authorization-code provider (``consent.finish_consent``); ``kept`` says what is
    stored, ``conflict`` what a 409 means (None: it cannot happen)."""

    def callback(query: OAuthCallbackQuery) -> Integration:
        return consent.finish_consent(flow, query)

    refused = (
        f"422 naming query.state for a state BTRIX did not issue for {flow.name}, expired or used, or query.code for a"
        f" code {flow.name} refused; 403 when the consent was refused or the user may no longer manage integrations"
    )
    callback.__name__ = callback.__qualname__ = f"{slug.replace('-', '_')}_callback"
    callback.__doc__ = (
        f"Finish connecting {title}\n\nWhere {flow.name} sends the browser back after consent (no bearer token: the"
        f" signed state says which tenant and user asked, once, within 10 minutes). {kept} {refused}"
        + (f"; 409 when {conflict}." if conflict else ".")
    )
    problems = (403, 409, 503) if conflict else (403, 503)
    declare = blueprint.operation(
        f"/integrations/{slug}/callback", query=OAuthCallbackQuery, response=Integration, problems=problems, public=True
    )
    return declare(callback)


@blueprint.operation(
    "/integrations", response=IntegrationList, permission=Permission.INTEGRATIONS_MANAGE, module=Module.INTEGRATIONS
)
def list_integrations(principal: Principal) -> IntegrationList:
    """List integrations

    Every provider (bitrix24, billy, google_calendar, stripe, mercadopago, twilio, meta, melhorenvio, pagarme, ifood,
    rappi, bling, tiny, ga4, meta_capi, correios, jadlog): connected or not, what identifies the account, the last
    sync, the last error and the last test. Credentials are never returned.
    """
    return service.list_integrations(principal)


@blueprint.operation(
    "/integrations/google-calendar/connect",
    "POST",
    response=ConsentStart,
    problems=(503,),
    permission=Permission.INTEGRATIONS_MANAGE,
    module=Module.INTEGRATIONS,
)
def connect_google_calendar(principal: Principal) -> ConsentStart:
    """Start connecting Google Calendar

    Answers the URL of Google's consent screen (offline access to the calendar's events), valid 10 minutes. Open
    it in the browser of the user who asked; after consent Google returns to the callback, which connects the
    tenant's google_calendar integration. 503 when BTRIX's Google OAuth client is not set up.
    """
    return consent.start_google_consent(principal)


google_calendar_callback = _consent_callback(
    "google-calendar",
    consent.GOOGLE,
    "Google Calendar",
    "Stores the refresh token encrypted and answers the integration.",
)


@blueprint.operation(
    "/integrations/melhorenvio/connect",
    "POST",
    body=MelhorEnvioConsentRequest,
    response=ConsentStart,
    problems=(503,),
    permission=Permission.INTEGRATIONS_MANAGE,
    module=Module.INTEGRATIONS,
)
def connect_melhorenvio(body: MelhorEnvioConsentRequest, principal: Principal) -> ConsentStart:
    """Start connecting MelhorEnvio

    Answers the URL of MelhorEnvio's consent screen for BTRIX's app (quotes, labels, tracking), of the sandbox when
    sandbox is true, valid 10 minutes. email is the technical contact MelhorEnvio requires (default: yours). After
    consent MelhorEnvio returns to the callback, which connects the tenant's melhorenvio integration. 503 when
    BTRIX's MelhorEnvio app is not set up.
    """
    return consent.start_melhorenvio_consent(principal, body)


melhorenvio_callback = _consent_callback(
    "melhorenvio",
    consent.MELHORENVIO,
    "MelhorEnvio",
    "Stores the tokens encrypted and answers the integration; the account's label updates then reach this tenant"
    " through the webhook of BTRIX's app.",
    "the MelhorEnvio account is connected to another BTRIX account",
)


@blueprint.operation(
    "/integrations/bling/connect",
    "POST",
    body=BlingConsentRequest,
    response=ConsentStart,
    problems=(422, 503),
    permission=Permission.INTEGRATIONS_MANAGE,
    module=Module.INTEGRATIONS,
)
def connect_bling(body: BlingConsentRequest, principal: Principal) -> ConsentStart:
    """Start connecting Bling (ERP)

    Answers the URL of Bling's authorization screen for BTRIX's Bling app, valid 10 minutes, with the ERP settings
    the account is connected with: sourceOfTruth (btrix: BTRIX's products and stock are pushed to Bling; erp: Bling's
    stock is pulled into BTRIX), issueNfe (Bling issues the NF-e of paid orders), depositId (default: Bling's default
    deposit). After the ADMIN authorizes it, Bling returns to the callback, which connects the tenant's bling
    integration. 503 when BTRIX's Bling app is not set up.
    """
    return consent.start_bling_consent(principal, body)


bling_callback = _consent_callback(
    "bling",
    consent.BLING,
    "Bling",
    "Stores the refresh token encrypted with the ERP settings and answers the integration; the company's stock"
    " webhooks then reach this tenant through BTRIX's app.",
    "the Bling company is connected to another BTRIX account",
)


@blueprint.operation(
    "/integrations/{provider}",
    "PUT",
    body=ConnectIntegrationRequest,
    response=Integration,
    problems=(404, 409, 422),
    permission=Permission.INTEGRATIONS_MANAGE,
    module=Module.INTEGRATIONS,
)
def connect_integration(provider: Provider, body: ConnectIntegrationRequest, principal: Principal) -> Integration:
    """Connect a provider

    Stores the credentials encrypted (replacing earlier ones; send the version you read to avoid overwriting a
    change). Fields per provider, camelCase: bitrix24 {domain, clientId, clientSecret, accessToken, refreshToken,
    memberId?}; billy {accessToken}; google_calendar {refreshToken, calendarId?, clientId?, clientSecret?} (or
    connect it by consent: POST /integrations/google-calendar/connect); stripe
    {secretKey}; mercadopago {accessToken}; twilio {accountSid, authToken, smsFrom?, whatsappFrom?}; meta
    {phoneNumberId, wabaId?, accessToken}; melhorenvio {refreshToken, accessToken?, email, sandbox?, clientId?,
    clientSecret?} (or connect it by consent: POST /integrations/melhorenvio/connect); pagarme {secretKey,
    webhookUser?, webhookSecret?}; ifood {clientId, clientSecret, merchantId} (its orders arrive by the event
    polls, and by the application's webhook where it has one); rappi {clientId, clientSecret, storeId,
    webhookSecret} (its orders arrive by its webhook); bling {refreshToken, sourceOfTruth?, issueNfe?, depositId?,
    clientId?, clientSecret?} (or by consent: POST /integrations/bling/connect); tiny {apiToken, sourceOfTruth?,
    issueNfe?}; ga4 {measurementId, apiSecret} (a web stream's Measurement Protocol secret); meta_capi {pixelId,
    accessToken, testEventCode?} (while testEventCode is set, conversions go to Events Manager's Test Events tab);
    correios {user, accessCode, postingCard, contract, services?, sandbox?} (the CWS contract API); jadlog {token,
    cnpj, account, contract?, modalities?} (the Embarcador API). Webhooks go to BTRIX's <provider> webhook URL with
    ?tenant=<tenant id> (rappi, ifood, and melhorenvio for an app of the tenant's own). The answer never contains
    them.
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
def disconnect_integration(provider: Provider, principal: Principal) -> None:
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
def test_integration(provider: Provider, principal: Principal) -> IntegrationTest:
    """Test a connection

    Asks the provider who the stored credentials belong to. A refusal or an outage is reported as ok=false with
    the reason, and recorded in the sync log. ga4 and meta_capi validate through the providers' debug tools: a
    sample purchase at GA4's /debug/mp/collect (its validation messages; Google does not check the API secret there),
    the pixel read with the token and, with a testEventCode, one test event Meta must receive.
    """
    return service.test_integration(principal, service.parse_provider(provider))


@blueprint.operation(
    "/integrations/{provider}/sync",
    "POST",
    response=SyncRequested,
    status=202,
    problems=(404,),
    permission=Permission.INTEGRATIONS_MANAGE,
    module=Module.INTEGRATIONS,
)
def sync_integration(provider: str, principal: Principal) -> SyncRequested:
    """Sync now

    Queues what the provider's schedule does, now (billy: the payment poll, sales whose invoice was paid are marked
    paid; ifood: the event poll, new orders arrive; rappi: the recovery poll, orders whose webhook was lost arrive;
    bling and tiny: the stock pull, per the source of truth; melhorenvio, correios, jadlog: the labels' tracking,
    posted or delivered orders move); at most once a minute. Its outcome shows in the sync log. 404 when the provider
    is not connected or has nothing to sync.
    """
    return jobs.request_sync(principal, service.parse_provider(provider))


@blueprint.operation(
    "/integrations/{provider}/logs",
    query=SyncLogQuery,
    response=Page[SyncLogEntry],
    problems=(404,),
    permission=Permission.INTEGRATIONS_MANAGE,
    module=Module.INTEGRATIONS,
)
def list_sync_logs(provider: Provider, query: SyncLogQuery, principal: Principal) -> Page[SyncLogEntry]:
    """List an integration's sync log

    Syncs and tests with the provider, newest first.
    """
    return service.list_sync_logs(principal, service.parse_provider(provider), query)
