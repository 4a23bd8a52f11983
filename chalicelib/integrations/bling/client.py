"""Bling API v3 (``https://api.bling.com.br/Api/v3``): products, stock, contacts, sales orders and NF-e.

Every call carries the account's bearer token (``integrations/tokens.py`` keeps it; a 401 calls ``renew`` once,
which refreshes it single flight, and the call goes again). Answers are ``{"data": …}``; errors ``{"error":
{"type", "message", "description", "fields": [{"msg", "element"}]}}``: 400/404/422 are ``rejected`` (the data, not
the moment), 403 is ``fatal`` (the app lacks a scope: reconnect).

**Rate limit**: 3 requests per second and 120 000 per day per account, beyond which Bling answers 429
``TOO_MANY_REQUESTS``: calls of one account are paced in the process (``bling_requests_per_second``), a 429 waits
and tries again twice (Bling's window is one second), then it is a ``retryable`` failure whose job the integrations
queue retries with its backoff.

Facts not confirmed in Bling's public docs are marked "(not confirmed)" where they are used: the filters
``codigos[]`` of ``GET /produtos`` and ``numerosLojas[]`` of ``GET /pedidos/vendas``, ``POST
/pedidos/vendas/{id}/gerar-nfe``, the NF-e ``situacao`` codes, and ``GET /empresas/me/dados-basicos``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import Failure, ProviderError, check_provider_url, json_object, send

if TYPE_CHECKING:
    import httpx

__all__ = [
    "AUTHORIZED_NFE",
    "Bling",
    "BlingBalance",
    "BlingNfe",
    "BlingProduct",
]

_WHAT = "Bling"
_THROTTLE_RETRIES = 2
_THROTTLE_WAIT_S = 1.0
# NF-e situations (not confirmed): 5 authorized, 6 DANFE issued, 7 registered; 2 cancelled, 4 rejected, 9 denied.
AUTHORIZED_NFE = frozenset({5, 6, 7})
REFUSED_NFE = frozenset({2, 4, 9})

# Calls leave at least this much more than 1/rate apart: Bling counts them as they arrive, and the network does not
# deliver them as evenly as they were sent.
_PACE_MARGIN_S = 0.05
_pace_lock = threading.Lock()
_next_slot: dict[str, float] = {}


def _pace(account: str) -> None:
    """Wait for the account's next slot: calls of one account at most ``bling_requests_per_second``."""
    gap = 1.0 / get_settings().bling_requests_per_second + _PACE_MARGIN_S
    with _pace_lock:
        now = time.monotonic()
        slot = max(now, _next_slot.get(account, 0.0))
        _next_slot[account] = slot + gap
    if slot > now:
        time.sleep(slot - now)


@dataclass(frozen=True)
class BlingProduct:
    """A product of the Bling account."""

    id: str
    code: str
    name: str
    price: Decimal
    active: bool


@dataclass(frozen=True)
class BlingBalance:
    """A product's stock in Bling: physical units, in the deposit asked for (or all of them)."""

    product_id: str
    units: Decimal


@dataclass(frozen=True)
class BlingNfe:
    """An NF-e of the account: its number and access key once authorized, and where its DANFE (PDF) is."""

    id: str
    status: int
    number: str | None
    key: str | None
    pdf_url: str | None

    @property
    def authorized(self) -> bool:
        """SEFAZ authorized it: its number and key are final."""
        return self.status in AUTHORIZED_NFE

    @property
    def refused(self) -> bool:
        """Rejected, denied or cancelled: it will not become authorized."""
        return self.status in REFUSED_NFE


def _error(response: httpx.Response) -> tuple[str | None, str]:
    try:
        body = response.json()
    except ValueError:
        return None, ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, ""
    fields = error.get("fields")
    said = (
        [str(f.get("msg")) for f in fields if isinstance(f, dict) and f.get("msg")] if isinstance(fields, list) else []
    )
    message = "; ".join(said) or str(error.get("description") or error.get("message") or "")
    kind = error.get("type")
    return (kind if isinstance(kind, str) else None), message[:300]


def _data(response: httpx.Response) -> Any:
    return json_object(_WHAT, response).get("data")


def _id(value: Any) -> str:
    if isinstance(value, dict) and value.get("id") is not None:
        return str(value["id"])
    raise ProviderError("Bling answered without an id", failure=Failure.REJECTED)


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value is not None else 0))
    except ArithmeticError as exc:
        raise ProviderError(f"Bling answered a number that is not one: {value!r}", failure=Failure.REJECTED) from exc


class Bling:
    """One Bling account's API, as the tenant's access token opens it (``renew``: a new token after a 401)."""

    def __init__(self, account: str, token: str, renew: Callable[[], str] | None = None) -> None:
        self.account = account
        self._token = token
        self._renew = renew

    def _send(self, method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> httpx.Response:
        url = check_provider_url(f"{get_settings().bling_api_url}{path}")
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        answered: list[httpx.Response] = []

        def run(http: httpx.Client) -> httpx.Response:
            answered.append(http.request(method, url, params=params, json=body, headers=headers))
            return answered[-1]

        try:
            return send(_WHAT, run)
        except ProviderError as exc:
            kind, message = _error(answered[-1]) if answered else (None, "")
            if exc.status == 429 or exc.status == 401:
                raise ProviderError(exc.detail, failure=exc.failure, status=exc.status, code=kind) from exc
            if exc.status in (400, 404, 409, 422):
                detail = f"Bling refused {method} {path} ({exc.status} {kind or ''}): {message}".replace(" )", ")")
                raise ProviderError(detail, failure=Failure.REJECTED, status=exc.status, code=kind) from exc
            raise

    def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        """One API call, paced; its ``data`` (None for an empty answer). A 401 renews the token once; a 429 waits
        and tries again twice, then is ``retryable``."""
        renewed = False
        throttled = 0
        while True:
            _pace(self.account)
            try:
                response = self._send(method, path, params, body)
            except ProviderError as exc:
                if exc.status == 401 and not renewed and self._renew is not None:
                    self._token, renewed = self._renew(), True
                    continue
                if exc.status == 429 and throttled < _THROTTLE_RETRIES:
                    throttled += 1
                    time.sleep(_THROTTLE_WAIT_S * throttled * (0.75 + random.random() / 2))  # noqa: S311 - jitter
                    continue
                if exc.status == 429:
                    raise ProviderError(
                        "Bling rate limit (429 TOO_MANY_REQUESTS)", failure=Failure.RETRYABLE, status=429
                    ) from exc
                raise
            return _data(response) if response.content else None

    # --- account ------------------------------------------------------------------------------------------------

    def identify(self) -> tuple[str | None, str]:
        """The company (``GET /empresas/me/dados-basicos``, not confirmed): its id, what its webhooks carry as
        ``companyId`` (not confirmed in Bling's docs that the two are the same; None when not answered), and its
        name."""
        data = self.call("GET", "/empresas/me/dados-basicos")
        found = data if isinstance(data, dict) else {}
        company_id = str(found["id"]) if found.get("id") not in (None, "") else None
        return company_id, str(found.get("nome") or "Bling account")

    def company(self) -> str:
        """The company's name (``identify``)."""
        return self.identify()[1]

    def default_deposit(self) -> str:
        """The id of the account's default stock deposit (``padrao``), else its first active one."""
        deposits = self.call("GET", "/depositos", params={"situacao": 1}) or []
        chosen = next((d for d in deposits if d.get("padrao")), deposits[0] if deposits else None)
        if not isinstance(chosen, dict):
            raise ProviderError("the Bling account has no stock deposit", failure=Failure.REJECTED)
        return _id(chosen)

    # --- products -----------------------------------------------------------------------------------------------

    @staticmethod
    def _product(item: Mapping[str, Any]) -> BlingProduct:
        return BlingProduct(
            id=str(item["id"]),
            code=str(item.get("codigo") or ""),
            name=str(item.get("nome") or ""),
            price=_decimal(item.get("preco")),
            active=item.get("situacao", "A") == "A",
        )

    def find_product(self, code: str) -> BlingProduct | None:
        """The product with our code, if Bling has one (filter ``codigos[]``, not confirmed)."""
        found = self.call("GET", "/produtos", params={"codigos[]": code, "limite": 1}) or []
        match = [p for p in found if isinstance(p, dict) and p.get("codigo") == code]
        return self._product(match[0]) if match else None

    def product(self, product_id: str) -> BlingProduct | None:
        """The product with Bling's id, None when Bling has none."""
        try:
            found = self.call("GET", f"/produtos/{product_id}")
        except ProviderError as exc:
            if exc.status == 404:
                return None
            raise
        return self._product(found) if isinstance(found, dict) and found.get("id") is not None else None

    def products(self, page: int, limit: int = 100) -> list[BlingProduct]:
        """One page of the account's products (``pagina`` from 1)."""
        found = self.call("GET", "/produtos", params={"pagina": page, "limite": limit}) or []
        return [self._product(p) for p in found if isinstance(p, dict)]

    def save_product(self, remote_id: str | None, fields: Mapping[str, Any]) -> str:
        """Create the product (``remote_id`` None) or change it; its Bling id."""
        if remote_id is None:
            return _id(self.call("POST", "/produtos", body=dict(fields)))
        self.call("PUT", f"/produtos/{remote_id}", body=dict(fields))
        return remote_id

    # --- stock ----------------------------------------------------------------------------------------------------

    def set_balance(self, product_id: str, deposit_id: str, units: int, note: str) -> str:
        """Set the product's physical stock in the deposit to ``units`` (operation ``B``, balance): the same call
        twice sets the same count."""
        body = {
            "produto": {"id": int(product_id)},
            "deposito": {"id": int(deposit_id)},
            "operacao": "B",
            "quantidade": units,
            "observacoes": note[:200],
        }
        return _id(self.call("POST", "/estoques", body=body))

    def balances(self, product_ids: Sequence[str], deposit_id: str | None) -> dict[str, BlingBalance]:
        """The physical stock of the products (at most 100 per call): in ``deposit_id``, else in all deposits."""
        params = {"idsProdutos[]": list(product_ids)}
        found = self.call("GET", "/estoques/saldos", params=params) or []
        balances: dict[str, BlingBalance] = {}
        for item in found:
            product = _id(item.get("produto"))
            units = _decimal(item.get("saldoFisicoTotal"))
            if deposit_id is not None:
                deposits = [d for d in item.get("depositos") or [] if str(d.get("id")) == deposit_id]
                units = _decimal(deposits[0].get("saldoFisico")) if deposits else Decimal(0)
            balances[product] = BlingBalance(product, units)
        return balances

    # --- contacts and sales orders --------------------------------------------------------------------------------

    def create_contact(self, fields: Mapping[str, Any]) -> str:
        """A contact (the order's customer); its id."""
        return _id(self.call("POST", "/contatos", body=dict(fields)))

    def anonymise_contact(self, contact_id: str, name: str) -> None:
        """The contact renamed to ``name``, inactive, its document, email and phones removed (``PUT /contatos/{id}``
        replaces the contact; not confirmed whether Bling refuses it for a contact on an authorized NF-e). Its sales
        orders and NF-e stay, as the law keeps them."""
        fields = {"nome": name, "tipo": "F", "situacao": "I", "numeroDocumento": "", "email": "", "celular": ""}
        self.call("PUT", f"/contatos/{contact_id}", body={**fields, "telefone": ""})

    def find_sales_order(self, store_number: str) -> str | None:
        """Our order's sales order, by the store number we gave it (filter ``numerosLojas[]``, not confirmed)."""
        found = self.call("GET", "/pedidos/vendas", params={"numerosLojas[]": store_number}) or []
        match = [o for o in found if isinstance(o, dict) and str(o.get("numeroLoja")) == store_number]
        return _id(match[0]) if match else None

    def create_sales_order(self, body: Mapping[str, Any]) -> str:
        """A sales order; its id."""
        return _id(self.call("POST", "/pedidos/vendas", body=dict(body)))

    # --- NF-e ------------------------------------------------------------------------------------------------------

    def generate_nfe(self, sales_order_id: str) -> str:
        """The NF-e of the sales order, drafted by Bling from it (``POST /pedidos/vendas/{id}/gerar-nfe``, not
        confirmed); its id."""
        return _id(self.call("POST", f"/pedidos/vendas/{sales_order_id}/gerar-nfe"))

    def send_nfe(self, nfe_id: str) -> None:
        """Send the NF-e to SEFAZ for authorization (its outcome: ``nfe``)."""
        self.call("POST", f"/nfe/{nfe_id}/enviar")

    def nfe(self, nfe_id: str) -> BlingNfe:
        """The NF-e as Bling has it now."""
        data = self.call("GET", f"/nfe/{nfe_id}")
        if not isinstance(data, dict):
            raise ProviderError("Bling answered no NF-e", failure=Failure.REJECTED)
        status = data.get("situacao")
        pdf = data.get("linkPDF") or data.get("linkDanfe")
        return BlingNfe(
            id=_id(data),
            status=int(status) if isinstance(status, int) else 0,
            number=str(data["numero"]) if data.get("numero") else None,
            key=str(data["chaveAcesso"]) if data.get("chaveAcesso") else None,
            pdf_url=str(pdf) if pdf else None,
        )
