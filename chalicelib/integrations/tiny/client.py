"""Tiny ERP API 2.0 (``https://api.tiny.com.br/api2``): products, stock, sales orders and NF-e.

Every call is ``POST /api2/<method>.php`` with a form: the company's API ``token``, ``formato=json`` and the method's
parameters (objects as JSON strings: ``produto``, ``estoque``, ``pedido``). The answer is always ``{"retorno":
{"status_processamento", "status": "OK"|"Erro", "codigo_erro", "erros": [{"erro"}], …}}``, **even for failures:
HTTP 200**. So failures are read from the body: ``codigo_erro`` 6 (too many calls in the last minute: the quota) and
99 (maintenance) are ``retryable``, 2 (invalid token), 5 (API blocked for the account) and 8 (company blocked) are
``fatal`` (reconnect), 20 (the search found nothing) is an empty answer, every other code is ``rejected`` with
Tiny's messages. The token is a long-lived API token of the company (API v2; v3 is OAuth with a one-day refresh
token, not used here). Facts not confirmed in Tiny's public docs are marked "(not confirmed)" where they are used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import Failure, ProviderError, check_provider_url, json_object, send
from chalicelib.integrations.tiny.credentials import TinyCredentials

if TYPE_CHECKING:
    import httpx

__all__ = ["Tiny", "TinyNfe", "TinyProduct", "whoami"]

_WHAT = "Tiny"
_RETRYABLE = frozenset({6, 99})
_FATAL = frozenset({2, 5, 8})
_NOT_FOUND = 20


@dataclass(frozen=True)
class TinyProduct:
    """A product of the Tiny company."""

    id: str
    code: str
    name: str
    price: Decimal


@dataclass(frozen=True)
class TinyNfe:
    """An NF-e of the company: its situation, number and access key once authorized, and its DANFE link."""

    id: str
    status: str
    number: str | None
    key: str | None
    pdf_url: str | None


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else 0))
    except ArithmeticError as exc:
        raise ProviderError(f"Tiny answered a number that is not one: {value!r}", failure=Failure.REJECTED) from exc


def _registered_id(answer: Mapping[str, Any]) -> str:
    """The id of the (single) record a ``*.incluir`` / ``*.alterar`` / stock update answered."""
    records = answer.get("registros")
    record = records[0] if isinstance(records, list) and records else records
    if isinstance(record, dict):
        record = record.get("registro", record)
    if isinstance(record, dict) and record.get("status") == "Erro":
        said = "; ".join(str(e.get("erro")) for e in record.get("erros") or [] if isinstance(e, dict))
        raise ProviderError(f"Tiny refused the record: {said or 'no reason given'}", failure=Failure.REJECTED)
    if isinstance(record, dict) and record.get("id") not in (None, ""):
        return str(record["id"])
    raise ProviderError("Tiny answered without an id", failure=Failure.REJECTED)


class Tiny:
    """One Tiny company's API, as its API token opens it."""

    def __init__(self, token: str) -> None:
        self._token = token

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One API method; its ``retorno`` (with ``status: OK``), or a ``ProviderError`` read from the body."""
        url = check_provider_url(f"{get_settings().tiny_api_url}/{method}.php")
        form = {"token": self._token, "formato": "json"}
        for name, value in (params or {}).items():
            form[name] = value if isinstance(value, str) else json.dumps(value)

        def run(http: httpx.Client) -> httpx.Response:
            return http.post(url, data=form, headers={"Accept": "application/json"})

        answer = json_object(_WHAT, send(_WHAT, run)).get("retorno")
        if not isinstance(answer, dict):
            raise ProviderError("Tiny answered without a retorno", failure=Failure.REJECTED)
        if answer.get("status") != "Erro":
            return answer
        code = int(answer.get("codigo_erro") or 0)
        said = "; ".join(str(e.get("erro")) for e in answer.get("erros") or [] if isinstance(e, dict))
        detail = f"Tiny {method} answered error {code}: {said or 'no reason given'}"
        if code == _NOT_FOUND:
            return {**answer, "status": "OK", "empty": True}
        if code in _RETRYABLE:
            raise ProviderError(detail, failure=Failure.RETRYABLE, status=429 if code == 6 else 503, code=str(code))
        if code in _FATAL:
            raise ProviderError(detail, failure=Failure.FATAL, status=401, code=str(code))
        raise ProviderError(detail, failure=Failure.REJECTED, code=str(code))

    # --- account ------------------------------------------------------------------------------------------------

    def company(self) -> str:
        """The company's name (``info.php``, not confirmed)."""
        answer = self.call("info")
        account = answer.get("conta")
        name = account.get("razao_social") or account.get("fantasia") if isinstance(account, dict) else None
        return str(name or "Tiny account")

    # --- products -------------------------------------------------------------------------------------------------

    @staticmethod
    def _product(item: Any) -> TinyProduct | None:
        product = item.get("produto") if isinstance(item, dict) else None
        if not isinstance(product, dict) or product.get("id") in (None, ""):
            return None
        return TinyProduct(
            id=str(product["id"]),
            code=str(product.get("codigo") or ""),
            name=str(product.get("nome") or ""),
            price=_decimal(product.get("preco")),
        )

    def search_products(self, text: str, page: int = 1) -> list[TinyProduct]:
        """A page (from 1, 100 a page) of the products whose name or code matches ``text`` (empty: all)."""
        answer = self.call("produtos.pesquisa", {"pesquisa": text, "pagina": str(page)})
        found = [self._product(item) for item in answer.get("produtos") or []]
        return [product for product in found if product is not None]

    def save_product(self, remote_id: str | None, fields: Mapping[str, Any]) -> str:
        """Create the product (``remote_id`` None, ``produto.incluir``) or change it (``produto.alterar``)."""
        product = {"sequencia": 1, **fields, **({"id": int(remote_id)} if remote_id else {})}
        method = "produto.alterar" if remote_id else "produto.incluir"
        return _registered_id(self.call(method, {"produto": {"produtos": [{"produto": product}]}}))

    # --- stock ----------------------------------------------------------------------------------------------------

    def set_balance(self, product_id: str, units: int, note: str, deposit: str | None) -> None:
        """The product's stock set to ``units`` (type ``B``, balance) in ``deposit`` (by name; None: the default)."""
        entry: dict[str, Any] = {"idProduto": int(product_id), "tipo": "B", "quantidade": str(units)}
        entry["observacoes"] = note[:100]
        if deposit:
            entry["deposito"] = deposit
        _registered_id(self.call("produto.atualizar.estoque", {"estoque": {"estoque": entry}}))

    def stock(self, product_id: str) -> Decimal:
        """The product's stock (``saldo``)."""
        answer = self.call("produto.obter.estoque", {"id": product_id})
        product = answer.get("produto")
        return _decimal(product.get("saldo")) if isinstance(product, dict) else Decimal(0)

    # --- contacts -------------------------------------------------------------------------------------------------

    def find_contacts(self, code: str) -> list[str]:
        """The ids of the contacts with our code (``contatos.pesquisa``: the search matches names too)."""
        answer = self.call("contatos.pesquisa", {"pesquisa": code})
        found = [item.get("contato") for item in answer.get("contatos") or [] if isinstance(item, dict)]
        return [str(c["id"]) for c in found if isinstance(c, dict) and str(c.get("codigo")) == code and c.get("id")]

    def anonymise_contact(self, contact_id: str, code: str, name: str) -> None:
        """The contact renamed to ``name``, its document, email and phones removed (``contato.alterar``, not
        confirmed: the fields sent empty are cleared); its sales orders and NF-e stay, as the law keeps them."""
        contact = {"sequencia": 1, "id": int(contact_id), "codigo": code, "nome": name, "tipo_pessoa": "F"}
        contact.update(cpf_cnpj="", email="", fone="", celular="", endereco="", situacao="I")
        _registered_id(self.call("contato.alterar", {"contato": {"contatos": [{"contato": contact}]}}))

    # --- sales orders and NF-e -----------------------------------------------------------------------------------

    def find_sales_order(self, ecommerce_number: str) -> str | None:
        """Our order's sales order, by the e-commerce number we gave it (``numeroEcommerce``, not confirmed)."""
        answer = self.call("pedidos.pesquisa", {"numeroEcommerce": ecommerce_number})
        for item in answer.get("pedidos") or []:
            order = item.get("pedido") if isinstance(item, dict) else None
            if isinstance(order, dict) and str(order.get("numero_ecommerce")) == ecommerce_number:
                return str(order["id"])
        return None

    def create_sales_order(self, order: Mapping[str, Any]) -> str:
        """A sales order (``pedido.incluir``); its id."""
        return _registered_id(self.call("pedido.incluir", {"pedido": {"pedido": dict(order)}}))

    def generate_nfe(self, sales_order_id: str) -> str:
        """The NF-e of the sales order, drafted by Tiny (``gerar.nota.fiscal.pedido``); its id."""
        answer = self.call("gerar.nota.fiscal.pedido", {"id": sales_order_id, "modelo": "NFe"})
        record = answer.get("registros")
        record = record.get("registro", record) if isinstance(record, dict) else record
        if isinstance(record, dict) and record.get("idNotaFiscal"):
            return str(record["idNotaFiscal"])
        raise ProviderError("Tiny answered no NF-e id", failure=Failure.REJECTED)

    def send_nfe(self, nfe_id: str) -> None:
        """Send the NF-e to SEFAZ (``nota.fiscal.emitir``)."""
        self.call("nota.fiscal.emitir", {"id": nfe_id})

    def nfe(self, nfe_id: str) -> TinyNfe:
        """The NF-e as Tiny has it now (``nota.fiscal.obter``; its DANFE link from ``nota.fiscal.obter.link``
        once authorized)."""
        answer = self.call("nota.fiscal.obter", {"id": nfe_id})
        nfe = answer.get("nota_fiscal")
        if not isinstance(nfe, dict):
            raise ProviderError("Tiny answered no NF-e", failure=Failure.REJECTED)
        status = str(nfe.get("situacao") or "")
        key = str(nfe.get("chave_acesso") or "") or None
        link = None
        if key:
            link = self.call("nota.fiscal.obter.link", {"id": nfe_id}).get("link_nfe")
        return TinyNfe(
            id=str(nfe.get("id") or nfe_id),
            status=status,
            number=str(nfe["numero"]) if nfe.get("numero") else None,
            key=key,
            pdf_url=str(link) if link else None,
        )


def whoami(credentials: TinyCredentials) -> str:
    """The Tiny company the API token belongs to."""
    return Tiny(credentials.api_token.get_secret_value()).company()
