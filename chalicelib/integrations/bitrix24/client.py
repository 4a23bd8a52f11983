"""The Bitrix24 client, BTRIX's one client for Bitrix24: REST calls and OAuth token refresh, Bitrix24's errors
classified, and every REST method BTRIX calls (the Open Lines connector, its chats and statuses, the CRM contact
lookup and its deletion for a privacy erasure, the profile). No Bitrix24 method name is spelled anywhere else.
One responsibility: speaking Bitrix24 (over 400 lines because it holds every method BTRIX calls).

A REST call is ``POST <portal>/rest/<method>`` with a JSON body that carries the parameters and ``auth`` (the
portal's access token); the answer is ``{"result": …}`` or ``{"error", "error_description"}`` with a 400, 401,
403, 500 or 503 status. Errors are classified by their code first, then by the status: ``expired`` (refresh the
token once and retry), ``retryable`` (later may work: limits, outages, timeouts), ``fatal`` (the portal no longer
lets us in: a refresh token refused, the app unpaid or its access revoked), else ``rejected``.

The method functions take a ``PortalCall`` (``channels.tokens.caller`` binds one to a tenant's portal, with its
tokens and their single-flight refresh), so this module knows Bitrix24 and nothing of BTRIX's storage.

URLs are https, or plain-http loopback where ``notifications_allow_loopback`` allows the fake providers. The
portal's REST endpoint is built from its domain and ``settings.bitrix24_rest_url``, never taken from what an
event says (``client_endpoint``), so an install cannot point our calls and its token somewhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.integrations.http import Failure, ProviderError, check_provider_url, client

if TYPE_CHECKING:
    import httpx

    from chalicelib.integrations.bitrix24.credentials import Bitrix24Credentials

__all__ = [
    "CONNECTOR_ID",
    "CONNECTOR_NAME",
    "EXPIRED_TOKEN",
    "FATAL_CODES",
    "INVALID_TOKEN",
    "RETRYABLE_CODES",
    "Bitrix24Error",
    "OpenLinesUser",
    "PortalCall",
    "Relayed",
    "TokenSet",
    "activate_line",
    "add_contact",
    "call",
    "checked_domain",
    "delete_contact",
    "find_contact",
    "portal_endpoint",
    "refresh_tokens",
    "register_connector",
    "report_delivery",
    "report_reading",
    "send_messages",
    "system_message",
    "unregister_connector",
    "whoami",
]

EXPIRED_TOKEN = "expired_token"
INVALID_TOKEN = "invalid_token"
# Later may work: the portal's request limit, or Bitrix24 (or the network) failing for a while.
RETRYABLE_CODES = frozenset(
    {"QUERY_LIMIT_EXCEEDED", "INTERNAL_SERVER_ERROR", "ERROR_SERVICE_UNAVAILABLE", "NETWORK_ERROR", "TIMEOUT"}
)
# The portal does not let the app in any more: nothing works until someone reinstalls or pays.
FATAL_CODES = frozenset(
    {
        "invalid_grant",
        "invalid_client",
        INVALID_TOKEN,
        "NO_AUTH_FOUND",
        "PAYMENT_REQUIRED",
        "ACCESS_DENIED",
        "insufficient_scope",
        "ERROR_OAUTH",
        "PORTAL_DELETED",
        "PORTAL_NOT_CONNECTED",
    }
)
_METHOD = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
# A DNS host name with an optional port: no scheme, path, user info or IP trickery in what becomes a URL.
_DOMAIN = re.compile(r"^(?=.{1,253}(:|$))([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(:\d{1,5})?$")
_DEFAULT_LIFETIME_S = 3600

# BTRIX's Open Lines connector, as the portal's operators see it.
CONNECTOR_ID = "btrix_whatsapp"
CONNECTOR_NAME = "WhatsApp (BTRIX)"
_ICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><circle cx="32" cy="32" r="30" fill="#25D366"/>'
    '<path fill="#fff" d="M32 14a18 18 0 0 0-15.6 27L14 50l9.3-2.4A18 18 0 1 0 32 14z"/></svg>'
)
_ICON = {
    "DATA_IMAGE": "data:image/svg+xml;charset=US-ASCII," + quote(_ICON_SVG),
    "COLOR": "#25D366",
    "SIZE": "90%",
    "POSITION": "center",
}

PortalCall = Callable[[str, dict[str, Any]], Any]
"""Calls REST ``method`` with ``params`` on one portal and returns ``result`` (raises ``Bitrix24Error``)."""


def _failure(code: str, status: int | None) -> Failure:
    if code == EXPIRED_TOKEN:
        return Failure.EXPIRED
    if code in FATAL_CODES:
        return Failure.FATAL
    if code in RETRYABLE_CODES or status is None or status == 429 or status >= 500:
        return Failure.RETRYABLE
    return Failure.REJECTED


class Bitrix24Error(ProviderError):
    """Raised when Bitrix24 answers with an error, or cannot be reached (``status`` None)."""

    def __init__(self, code: str, description: str = "", status: int | None = None) -> None:
        detail = f"Bitrix24 {code}" + (f": {description}" if description else "")
        super().__init__(detail, failure=_failure(code, status), status=status, code=code)
        self.code: str = code
        self.description = description


@dataclass(frozen=True)
class TokenSet:
    """A portal's OAuth tokens as Bitrix24's OAuth server handed them out."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    member_id: str
    domain: str
    client_endpoint: str


@dataclass(frozen=True)
class OpenLinesUser:
    """The customer as an Open Lines chat shows them."""

    id: str
    name: str
    phone: str


@dataclass(frozen=True)
class Relayed:
    """Where a customer's message landed in Bitrix24: the Open Lines chat and the message created there (either
    None when the answer lacks it)."""

    chat_id: str | None
    message_id: str | None


# --- the wire -----------------------------------------------------------------------------------------------------


def _checked_url(url: str) -> str:
    try:
        return check_provider_url(url)
    except ProviderError as exc:
        raise Bitrix24Error("INVALID_ENDPOINT", str(exc)) from exc


def checked_domain(domain: str) -> str:
    """``domain`` (lower-cased) if it is a plain host name such as ``acme.bitrix24.com``; else ``Bitrix24Error``."""
    host = domain.strip().lower()
    if not _DOMAIN.fullmatch(host):
        raise Bitrix24Error("INVALID_DOMAIN", f"{domain!r} is not a Bitrix24 portal host name")
    return host


def portal_endpoint(domain: str) -> str:
    """The REST endpoint of the portal at ``domain`` (``settings.bitrix24_rest_url`` with the domain filled in)."""
    return get_settings().bitrix24_rest_url.format(domain=checked_domain(domain)).rstrip("/")


def _error_of(response: httpx.Response, what: str) -> Bitrix24Error:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        return Bitrix24Error(str(body["error"]), str(body.get("error_description") or ""), response.status_code)
    return Bitrix24Error(
        f"HTTP_{response.status_code}", f"{what} answered {response.status_code}", response.status_code
    )


def _send(what: str, request: Callable[[httpx.Client], httpx.Response]) -> dict[str, Any]:
    import httpx

    try:
        response = request(client())
    except httpx.TimeoutException as exc:
        raise Bitrix24Error("TIMEOUT", f"{what} did not answer in time") from exc
    except httpx.HTTPError as exc:
        raise Bitrix24Error("NETWORK_ERROR", f"{what} could not be reached ({type(exc).__name__})") from exc
    if response.status_code >= 300:
        raise _error_of(response, what)
    try:
        body = response.json()
    except ValueError as exc:
        raise Bitrix24Error("INVALID_RESPONSE", f"{what} did not answer with JSON", response.status_code) from exc
    if not isinstance(body, dict):
        raise Bitrix24Error("INVALID_RESPONSE", f"{what} did not answer with a JSON object", response.status_code)
    if body.get("error"):
        # Some errors come back with a 200.
        raise Bitrix24Error(str(body["error"]), str(body.get("error_description") or ""), response.status_code)
    return body


def call(endpoint: str, access_token: str, method: str, params: dict[str, Any]) -> Any:
    """Call REST ``method`` on the portal at ``endpoint`` (``portal_endpoint``) with ``params``; returns ``result``.

    Raises ``Bitrix24Error`` (see its ``expired``, ``retryable`` and ``fatal``).
    """
    if not _METHOD.fullmatch(method):
        raise ValueError(f"not a Bitrix24 REST method name: {method!r}")
    url = f"{_checked_url(endpoint).rstrip('/')}/{method}"
    body = {**params, "auth": access_token}
    answer = _send(f"Bitrix24 {method}", lambda http: http.post(url, json=body))
    if "result" not in answer:
        raise Bitrix24Error("INVALID_RESPONSE", f"Bitrix24 {method} answered without a result", 200)
    return answer["result"]


def _host_of(endpoint: str) -> str:
    return (urlsplit(endpoint).hostname or "").lower()


def refresh_tokens(client_id: str, client_secret: str, refresh_token: str) -> TokenSet:
    """Trade ``refresh_token`` for a new pair at Bitrix24's OAuth server (``settings.bitrix24_oauth_url``).

    Each refresh token works once: keep the new one. ``invalid_grant`` (used, revoked or expired after 180 days)
    is fatal: the portal must install the app again.
    """
    url = _checked_url(get_settings().bitrix24_oauth_url)
    query = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
    }
    # Bitrix24 documents the refresh as a GET with the parameters in the query string.
    answer = _send("Bitrix24 OAuth", lambda http: http.get(url, params=query))
    access, refresh = answer.get("access_token"), answer.get("refresh_token")
    if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
        raise Bitrix24Error("INVALID_RESPONSE", "Bitrix24 OAuth answered without a token pair", 200)
    expires_in = answer.get("expires_in")
    lifetime = (
        int(expires_in) if isinstance(expires_in, int | str) and str(expires_in).isdigit() else _DEFAULT_LIFETIME_S
    )
    client_endpoint = str(answer.get("client_endpoint") or "")
    # The answer's ``domain`` is the OAuth server's; the portal is the host of its client endpoint.
    domain = _host_of(client_endpoint) or str(answer.get("domain") or "")
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        expires_at=clock.now() + timedelta(seconds=lifetime),
        member_id=str(answer.get("member_id") or ""),
        domain=domain,
        client_endpoint=client_endpoint,
    )


# --- the Open Lines connector ---------------------------------------------------------------------------------


def register_connector(portal: PortalCall, handler_url: str) -> None:
    """``imconnector.register``: BTRIX's connector (name, icon, settings page) on the portal's Open Lines."""
    portal(
        "imconnector.register",
        {"ID": CONNECTOR_ID, "NAME": CONNECTOR_NAME, "ICON": _ICON, "PLACEMENT_HANDLER": handler_url},
    )


def activate_line(portal: PortalCall, line: str, *, active: bool = True) -> None:
    """``imconnector.activate``: the connector on (or off) for Open Line ``line``."""
    portal("imconnector.activate", {"CONNECTOR": CONNECTOR_ID, "LINE": line, "ACTIVE": 1 if active else 0})


def unregister_connector(portal: PortalCall) -> None:
    """``imconnector.unregister``: the connector off the portal's Open Lines."""
    portal("imconnector.unregister", {"ID": CONNECTOR_ID})


def send_messages(portal: PortalCall, line: str, user: OpenLinesUser, message: dict[str, Any], chat_id: str) -> Relayed:
    """``imconnector.send.messages``: one customer message into the Open Lines chat named ``chat_id`` (our
    conversation id, which operator replies name back); returns the Open Lines chat id and the id of the message
    created there, when the answer has them."""
    result = portal(
        "imconnector.send.messages",
        {
            "CONNECTOR": CONNECTOR_ID,
            "LINE": line,
            "MESSAGES": [
                {
                    "user": {"id": user.id, "name": user.name, "phone": user.phone},
                    "message": message,
                    "chat": {"id": chat_id},
                }
            ],
        },
    )
    try:
        first = result["DATA"]["RESULT"][0]
    except (KeyError, IndexError, TypeError):
        return Relayed(None, None)
    session = first.get("session") or {}
    chat = first.get("chat") or {}
    found = session.get("CHAT_ID") or chat.get("id")
    created = first.get("message")
    message_id = created[0] if isinstance(created, list) and created else None
    return Relayed(None if found is None else str(found), None if message_id is None else str(message_id))


def report_delivery(
    portal: PortalCall,
    line: str,
    im_chat_id: str | None,
    im_message_id: str | None,
    wamids: Sequence[str],
    chat_id: str,
) -> None:
    """``imconnector.send.status.delivery``: the operator's message reached the customer (else it shows
    undelivered)."""
    portal(
        "imconnector.send.status.delivery",
        {
            "CONNECTOR": CONNECTOR_ID,
            "LINE": line,
            "MESSAGES": [
                {
                    "im": {"chat_id": im_chat_id, "message_id": im_message_id},
                    "message": {"id": list(wamids)},
                    "chat": {"id": chat_id},
                }
            ],
        },
    )


def report_reading(
    portal: PortalCall, line: str, im_chat_id: str | None, im_message_id: str | None, chat_id: str
) -> None:
    """``imconnector.send.status.reading``: the customer read the operator's message."""
    portal(
        "imconnector.send.status.reading",
        {
            "CONNECTOR": CONNECTOR_ID,
            "LINE": line,
            "MESSAGES": [{"im": {"chat_id": im_chat_id, "message_id": im_message_id}, "chat": {"id": chat_id}}],
        },
    )


def system_message(portal: PortalCall, bitrix_chat_id: str, text: str) -> None:
    """``im.message.add`` as a system message in Open Lines chat ``bitrix_chat_id`` (what the operators must know)."""
    portal("im.message.add", {"DIALOG_ID": f"chat{bitrix_chat_id}", "MESSAGE": text, "SYSTEM": "Y"})


# --- the CRM ------------------------------------------------------------------------------------------------------


def find_contact(portal: PortalCall, phone: str) -> str | None:
    """``crm.duplicate.findbycomm``: the id of the CRM contact with ``phone`` (E.164), or None."""
    found = portal("crm.duplicate.findbycomm", {"entity_type": "CONTACT", "type": "PHONE", "values": [phone]})
    ids = found.get("CONTACT") if isinstance(found, dict) else None
    return str(ids[0]) if ids else None


def add_contact(portal: PortalCall, name: str, phone: str) -> str:
    """``crm.contact.add``: a CRM contact for a WhatsApp customer; returns its id."""
    fields = {
        "NAME": name,
        "PHONE": [{"VALUE": phone, "VALUE_TYPE": "MOBILE"}],
        "SOURCE_ID": "WHATSAPP",
        "OPENED": "Y",
    }
    return str(portal("crm.contact.add", {"fields": fields}))


def delete_contact(portal: PortalCall, contact_id: str) -> bool:
    """``crm.contact.delete``: the CRM contact removed; False when it was not there any more (``Not found``)."""
    try:
        portal("crm.contact.delete", {"id": contact_id})
    except Bitrix24Error as exc:
        if "not found" in f"{exc.code} {exc.description}".lower():
            return False
        raise
    return True


# --- the integrations' connection test --------------------------------------------------------------------------


def whoami(credentials: Bitrix24Credentials) -> str:
    """The portal user the token acts as (``profile``)."""
    endpoint = portal_endpoint(credentials.domain)
    result = call(endpoint, credentials.access_token.get_secret_value(), "profile", {})
    if not isinstance(result, dict):
        raise Bitrix24Error("INVALID_RESPONSE", f"Bitrix24 ({credentials.domain}) answered without a profile", 200)
    name = " ".join(str(result.get(k) or "") for k in ("NAME", "LAST_NAME")).strip() or f"user {result.get('ID')}"
    return f"{name} on {credentials.domain}"
