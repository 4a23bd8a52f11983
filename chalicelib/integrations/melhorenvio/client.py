"""MelhorEnvio API v2 (``/api/v2/me``): quotes, the label purchase (cart → checkout → generate → print), tracking,
the OAuth token refresh and the "who am I".

Wire facts (docs.melhorenvio.com.br; those not confirmed there are marked): every call sends ``Accept:
application/json`` and a ``User-Agent`` naming the app and a contact email (MelhorEnvio refuses calls without
one); the base URL is ``https://melhorenvio.com.br`` or, for a sandbox account, ``https://sandbox.melhorenvio.com.br``.
Tokens come from ``POST /oauth/token`` (authorization code or refresh token; the access token lives 30 days, the
refresh token 45 and is replaced by every refresh). A quote is ``POST /shipment/calculate`` → one entry per service,
with ``price`` and ``delivery_time`` (working days) or an ``error`` when the service cannot carry the package. A
label is inserted in the cart (``POST /cart``, one shipment per request; answers its ``id``), bought (``POST
/shipment/checkout {orders}``, paid from the account's balance), generated (``POST /shipment/generate``) and printed
(``POST /shipment/print`` → ``{url}``); ``POST /shipment/tracking {orders}`` answers each one's ``status``
(``pending``, ``released``, ``posted``, ``delivered``, ``canceled``, ``undelivered``) and carrier ``tracking``
code. Validation errors are 422 ``{"message": "The given data was invalid.", "errors": {field: [messages]}}``;
throttling (250 requests a minute per account) is 429.

Webhooks (an app's, for the labels it bought): ``POST`` of ``{"event": "order.<status>", "data": {id, protocol,
status, tracking, …}}`` (``order.created``, ``.released``, ``.generated``, ``.posted``, ``.delivered``,
``.cancelled``, ``.undelivered``…), signed ``X-ME-Signature`` = HMAC-SHA256(app secret, raw body) (base64 per
MelhorEnvio's example; not confirmed: the event list and the body beyond ``event`` and ``data.id``).

Errors are ``ProviderError``: a 401 is ``expired`` (the caller refreshes the token once, single flight), 429 and 5xx
``retryable`` (after ``http.send_with_backoff``'s short wait on 429, honouring ``Retry-After``), 422 and other 4xx
``rejected`` with the fields MelhorEnvio named.

One responsibility: MelhorEnvio's wire format (its OAuth token requests and the API calls shipping makes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from chalicelib.core.config import get_settings
from chalicelib.core.resources import MELHORENVIO_OAUTH_APP
from chalicelib.integrations.http import (
    Failure,
    OAuthClient,
    ProviderError,
    TokenGrant,
    app_of,
    check_provider_url,
    oauth_token_call,
    send_with_backoff,
    shared_app,
)
from chalicelib.integrations.melhorenvio.credentials import MelhorEnvioCredentials
from chalicelib.integrations.parcels import Package, ServiceQuote, ShippingAddress, Tracking

if TYPE_CHECKING:
    import httpx

__all__ = [
    "SCOPES",
    "add_to_cart",
    "base_url",
    "btrix_app",
    "calculate",
    "checkout",
    "consent_url",
    "exchange_code",
    "generate",
    "identify",
    "print_labels",
    "refresh_access_token",
    "track",
    "whoami",
]

_WHAT = "MelhorEnvio"
_ACCESS_LIFETIME_S = 30 * 24 * 3600


def _package_body(package: Package) -> dict[str, Any]:
    """The ``products[]`` entry of a quote."""
    return {
        "id": package.id,
        "width": package.width_cm,
        "height": package.height_cm,
        "length": package.length_cm,
        "weight": float(package.weight_kg),
        "insurance_value": float(package.unit_value),
        "quantity": package.quantity,
    }


def _address_body(address: ShippingAddress) -> dict[str, Any]:
    """A ``from`` / ``to`` object of ``POST /cart``, without empty fields."""
    fields = {
        "name": address.name,
        "postal_code": address.postal_code,
        "address": address.address,
        "city": address.city,
        "number": address.number,
        "complement": address.complement,
        "district": address.district,
        "state_abbr": address.state_abbr,
        "phone": address.phone,
        "email": address.email,
        "document": address.document,
        "company_document": address.company_document,
        "country_id": "BR",
    }
    return {name: value for name, value in fields.items() if value}


def _base(sandbox: bool) -> str:
    settings = get_settings()
    return (settings.melhorenvio_sandbox_url if sandbox else settings.melhorenvio_api_url).rstrip("/")


def base_url(credentials: MelhorEnvioCredentials) -> str:
    """The API's base URL for the account: the sandbox one for a sandbox account."""
    return _base(credentials.sandbox)


def _user_agent(credentials: MelhorEnvioCredentials) -> str:
    return f"BTRIX ({credentials.email})"


def _errors(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors")
    if isinstance(errors, dict) and errors:
        named = (
            f"{field}: {', '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
            for field, msgs in errors.items()
        )
        return "; ".join(named)[:400]
    message = body.get("message") or body.get("error")
    return str(message)[:400] if message else ""


def _call(credentials: MelhorEnvioCredentials, token: str, method: str, path: str, body: Any = None) -> Any:
    url = check_provider_url(f"{base_url(credentials)}/api/v2/me{path}")
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "User-Agent": _user_agent(credentials),
    }
    try:
        response = send_with_backoff(_WHAT, lambda http: http.request(method, url, json=body, headers=headers))
    except ProviderError as exc:
        if exc.status == 401:
            raise ProviderError(f"{_WHAT} refused the access token", failure=Failure.EXPIRED, status=401) from exc
        if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (403, 429):
            named = _errors(exc.response) if exc.response is not None else ""
            detail = f"{_WHAT} refused the request ({exc.status}{': ' + named if named else ''})"
            raise ProviderError(detail, failure=Failure.REJECTED, status=exc.status) from exc
        raise
    try:
        return response.json() if response.content else None
    except ValueError as exc:
        raise ProviderError(f"{_WHAT} did not answer with JSON", failure=Failure.REJECTED) from exc


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def calculate(
    credentials: MelhorEnvioCredentials,
    token: str,
    from_postal_code: str,
    to_postal_code: str,
    packages: Sequence[Package],
) -> list[ServiceQuote]:
    """Every service's price and days for ``packages`` between two CEPs (``POST /shipment/calculate``)."""
    body = {
        "from": {"postal_code": from_postal_code},
        "to": {"postal_code": to_postal_code},
        "products": [_package_body(package) for package in packages],
    }
    answer = _call(credentials, token, "POST", "/shipment/calculate", body)
    if not isinstance(answer, list):
        raise ProviderError(f"{_WHAT} answered a quote that is not a list", failure=Failure.REJECTED)
    quotes = []
    for entry in answer:
        if not isinstance(entry, dict) or "id" not in entry:
            continue
        company = entry.get("company") if isinstance(entry.get("company"), dict) else {}
        days = entry.get("delivery_time")
        error = entry.get("error")
        price = _decimal(entry.get("custom_price") or entry.get("price"))
        quotes.append(
            ServiceQuote(
                service_id=str(entry["id"]),
                name=str(entry.get("name") or entry["id"]),
                company=str((company or {}).get("name") or ""),
                price=None if error else price,
                delivery_days=int(days) if isinstance(days, int) and not error else None,
                error=str(error) if error else (None if price is not None else "no price"),
            )
        )
    return quotes


def add_to_cart(
    credentials: MelhorEnvioCredentials,
    token: str,
    *,
    service_id: int,
    sender: ShippingAddress,
    recipient: ShippingAddress,
    products: Sequence[Mapping[str, Any]],
    volumes: Sequence[Mapping[str, Any]],
    insurance_value: Decimal,
    tag: str,
) -> str:
    """Put one label in the account's cart (``POST /cart``); answers its id. ``tag`` (our order) shows in
    MelhorEnvio's panel. A non-commercial shipment (content declaration): no invoice key is sent."""
    body = {
        "service": service_id,
        "from": _address_body(sender),
        "to": _address_body(recipient),
        "products": list(products),
        "volumes": list(volumes),
        "options": {
            "insurance_value": float(insurance_value),
            "receipt": False,
            "own_hand": False,
            "reverse": False,
            "non_commercial": True,
            "tags": [{"tag": tag}],
        },
    }
    answer = _call(credentials, token, "POST", "/cart", body)
    if not isinstance(answer, dict) or not answer.get("id"):
        raise ProviderError(f"{_WHAT} answered a cart insert without an id", failure=Failure.REJECTED)
    return str(answer["id"])


def checkout(credentials: MelhorEnvioCredentials, token: str, order_ids: Sequence[str]) -> None:
    """Buy the labels in the cart (``POST /shipment/checkout``; paid from the account's balance)."""
    _call(credentials, token, "POST", "/shipment/checkout", {"orders": list(order_ids)})


def generate(credentials: MelhorEnvioCredentials, token: str, order_ids: Sequence[str]) -> None:
    """Generate the bought labels (``POST /shipment/generate``)."""
    _call(credentials, token, "POST", "/shipment/generate", {"orders": list(order_ids)})


def print_labels(credentials: MelhorEnvioCredentials, token: str, order_ids: Sequence[str]) -> str:
    """The URL of the labels' PDF (``POST /shipment/print`` → ``{url}``)."""
    answer = _call(credentials, token, "POST", "/shipment/print", {"mode": "private", "orders": list(order_ids)})
    url = answer.get("url") if isinstance(answer, dict) else None
    if not isinstance(url, str) or not url:
        raise ProviderError(f"{_WHAT} answered a print without a url", failure=Failure.REJECTED)
    return url


def track(credentials: MelhorEnvioCredentials, token: str, order_ids: Sequence[str]) -> list[Tracking]:
    """Where each label stands (``POST /shipment/tracking`` → ``{<id>: {status, tracking, …}}``)."""
    answer = _call(credentials, token, "POST", "/shipment/tracking", {"orders": list(order_ids)})
    if not isinstance(answer, dict):
        raise ProviderError(f"{_WHAT} answered tracking that is not an object", failure=Failure.REJECTED)
    found = []
    for order_id, entry in answer.items():
        if isinstance(entry, dict) and entry.get("status"):
            code = entry.get("tracking")
            found.append(Tracking(str(order_id), str(entry["status"]), str(code) if code else None))
    return found


def btrix_app() -> OAuthClient:
    """BTRIX's own MelhorEnvio app (secret ``melhorenvio-oauth-app``), the one tenants consent to."""
    return shared_app(MELHORENVIO_OAUTH_APP, _WHAT)


def _client(credentials: MelhorEnvioCredentials) -> OAuthClient:
    return app_of(credentials.client_id, credentials.client_secret, btrix_app)


def app_secret(credentials: MelhorEnvioCredentials) -> str:
    """The secret of the app the account is connected through (the tenant's own, or BTRIX's): what MelhorEnvio signs
    that app's webhooks with (``X-ME-Signature``)."""
    return _client(credentials).client_secret


SCOPES = (
    "cart-read",
    "cart-write",
    "orders-read",
    "shipping-calculate",
    "shipping-checkout",
    "shipping-generate",
    "shipping-print",
    "shipping-tracking",
    "users-read",
)


def consent_url(sandbox: bool, redirect_uri: str, state: str) -> str:
    """MelhorEnvio's consent screen for BTRIX's app (``/oauth/authorize``, authorization code)."""
    base = _base(sandbox)
    query = {
        "client_id": btrix_app().client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "state": state,
        "scope": " ".join(SCOPES),
    }
    return f"{base}/oauth/authorize?{urlencode(query)}"


def _token_url(credentials: MelhorEnvioCredentials) -> str:
    return check_provider_url(f"{base_url(credentials)}/oauth/token")


def refresh_access_token(credentials: MelhorEnvioCredentials, refresh_token: str) -> TokenGrant:
    """A new access token and a new refresh token (the old one is then dead): ``grant_type=refresh_token``."""
    client = _client(credentials)
    form = {
        "grant_type": "refresh_token",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "refresh_token": refresh_token,
    }
    headers = {"User-Agent": _user_agent(credentials)}
    return oauth_token_call(
        f"{_WHAT} OAuth", _token_url(credentials), form, default_lifetime_s=_ACCESS_LIFETIME_S, headers=headers
    )


def exchange_code(sandbox: bool, email: str, code: str, redirect_uri: str) -> TokenGrant:
    """Trade the consent's authorization code for tokens of BTRIX's app (``grant_type=authorization_code``)."""
    client = btrix_app()
    form = {
        "grant_type": "authorization_code",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "redirect_uri": redirect_uri,
        "code": code,
    }
    headers = {"User-Agent": f"BTRIX ({email})"}
    url = check_provider_url(f"{_base(sandbox)}/oauth/token")
    return oauth_token_call(f"{_WHAT} OAuth", url, form, default_lifetime_s=_ACCESS_LIFETIME_S, headers=headers)


def identify(credentials: MelhorEnvioCredentials, token: str) -> tuple[str | None, str]:
    """Who the token belongs to (``GET /api/v2/me``): the account's id (what its webhooks carry as
    ``data.user_id``), and the account as shown (its email, else its name)."""
    answer = _call(credentials, token, "GET", "")
    if not isinstance(answer, dict):
        raise ProviderError(f"{_WHAT} answered /me without an object", failure=Failure.REJECTED)
    name = " ".join(str(answer.get(part) or "") for part in ("firstname", "lastname")).strip()
    account_id = str(answer["id"]) if answer.get("id") not in (None, "") else None
    return account_id, str(answer.get("email") or name or account_id or "?")


def account(credentials: MelhorEnvioCredentials, token: str) -> str:
    """Who the token belongs to, as shown (``identify``)."""
    return identify(credentials, token)[1]


def whoami(credentials: MelhorEnvioCredentials) -> str:
    """The account of the stored access token (without one, a refresh; a rotated refresh token is not kept here,
    so the connection test uses the access token whenever there is one)."""
    if credentials.access_token is not None:
        try:
            return account(credentials, credentials.access_token.get_secret_value())
        except ProviderError as exc:
            if not exc.expired:
                raise
    raise ProviderError(
        f"{_WHAT}: the stored access token is missing or expired; shipping calls refresh it", failure=Failure.EXPIRED
    )
