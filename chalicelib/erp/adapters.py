"""What the ERP sync asks of an ERP, and the answers of Bling (``BlingAccount``, API v3) and Tiny (``TinyAccount``, API
2.0): BTRIX's products, stock, orders and customers in each ERP's words.

``ErpAccount`` is the port: the ERP tasks (``erp/products.py``, ``erp/orders.py``) speak only to it, so each ERP
is one adapter here, over its client in ``chalicelib/integrations/<provider>/``. ``open_account(tenant_id,
provider)`` answers the tenant's account, or None when the tenant has not connected that ERP.

One responsibility: BTRIX's products, stock, orders and customers in each ERP's words (the port and its two
adapters side by side, so that they answer alike).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from chalicelib.catalog.models import Product
from chalicelib.core.crypto import decrypt_field
from chalicelib.customers.models import CustomerRecord
from chalicelib.integrations import probes, tokens
from chalicelib.integrations.bling.client import Bling, BlingNfe
from chalicelib.integrations.bling.credentials import BlingCredentials
from chalicelib.integrations.bling.oauth import refresh_grant
from chalicelib.integrations.credentials import ErpSettings, Provider
from chalicelib.integrations.service import IntegrationNotConnected, find_credentials, find_ref, keep_ref
from chalicelib.integrations.tiny.client import Tiny, TinyNfe
from chalicelib.integrations.tiny.credentials import TinyCredentials
from chalicelib.orders.models import Order, OrderLine

__all__ = [
    "BLING_TOKENS",
    "CONTACT",
    "ERP_PROVIDERS",
    "BlingAccount",
    "ErpAccount",
    "ErpNfe",
    "ErpProduct",
    "TinyAccount",
    "bling_of_tenant",
    "open_account",
    "store_number",
]

ERP_PROVIDERS: tuple[Provider, ...] = (Provider.BLING, Provider.TINY)
_DEPOSIT = "deposit"
CONTACT = "contact"  # the reference kind of an ERP's contact made for our customer


def store_number(order: Order) -> str:
    """The number an ERP knows our order by (its ``numeroLoja``): unique per tenant, so a retried push finds it."""
    return f"BTRIX-{order.number}"


@dataclass(frozen=True)
class ErpProduct:
    """A product of the ERP: its id and our code (when it carries one)."""

    id: str
    code: str
    name: str
    price: Decimal


@dataclass(frozen=True)
class ErpNfe:
    """An NF-e at the ERP: authorized (number and key final), refused, or still on its way."""

    id: str
    status: str
    authorized: bool
    refused: bool
    number: str | None
    key: str | None
    pdf_url: str | None


class ErpAccount(Protocol):
    """One tenant's account at an ERP."""

    provider: Provider
    settings: ErpSettings

    def find_product(self, code: str) -> str | None:
        """The ERP's id of the product with our code, if it has one."""

    def save_product(self, remote_id: str | None, product: Product) -> str:
        """Create (``remote_id`` None) or update the product at the ERP; its id there."""

    def products(self, page: int) -> list[ErpProduct]:
        """One page (from 1) of the ERP's products; empty past the last."""

    def set_stock(self, remote_id: str, units: int, note: str) -> None:
        """Set the product's physical stock at the ERP to ``units``."""

    def stock(self, remote_ids: Sequence[str]) -> dict[str, Decimal]:
        """The physical stock of the products at the ERP (at most 100 per call)."""

    def find_sales_order(self, order: Order) -> str | None:
        """The ERP's sales order of our order, if it has one."""

    def create_sales_order(
        self, order: Order, lines: Sequence[tuple[OrderLine, str | None]], customer: CustomerRecord | None
    ) -> str:
        """A sales order of the paid order (each line with the ERP's product id when linked); its id."""

    def request_nfe(self, sales_order_id: str) -> str:
        """Ask the ERP to issue the sales order's NF-e; its id (the authorization follows)."""

    def nfe(self, nfe_id: str) -> ErpNfe:
        """The NF-e as the ERP has it now; a pending one is sent for authorization again."""

    def erase_contact(self, customer_id: str, pseudonym: str) -> int:
        """The ERP's contact of our customer (if the ERP got one) renamed to ``pseudonym``, its document and contact
        details removed; answers how many contacts changed (a privacy erasure)."""


def _money(value: Decimal) -> float:
    # Bling's JSON numbers: the wire is the only place a price leaves Decimal.
    return float(value.quantize(Decimal("0.01")))


class BlingAccount:
    """``ErpAccount`` over Bling API v3."""

    provider = Provider.BLING

    def __init__(self, tenant_id: str, bling: Bling, credentials: BlingCredentials) -> None:
        self.tenant_id = tenant_id
        self.bling = bling
        self.settings: ErpSettings = credentials

    def _deposit(self) -> str:
        if self.settings.deposit_id:
            return self.settings.deposit_id
        kept = find_ref(self.tenant_id, Provider.BLING, _DEPOSIT, "default")
        if kept is not None:
            return kept
        return keep_ref(self.tenant_id, Provider.BLING, _DEPOSIT, "default", self.bling.default_deposit())

    def find_product(self, code: str) -> str | None:
        """Bling's product with our code."""
        found = self.bling.find_product(code)
        return None if found is None else found.id

    def save_product(self, remote_id: str | None, product: Product) -> str:
        """Name, code, price, kind (P product / S service) and situation (A active / I inactive)."""
        fields: dict[str, Any] = {
            "nome": product.name,
            "codigo": product.code,
            "preco": _money(product.price.amount),
            "tipo": "P" if product.kind == "product" else "S",
            "situacao": "A" if product.active else "I",
            "formato": "S",
            "unidade": "UN",
            **({"descricaoCurta": product.description} if product.description else {}),
        }
        return self.bling.save_product(remote_id, fields)

    def product(self, remote_id: str) -> ErpProduct | None:
        """Bling's product with that id (None: Bling has none)."""
        found = self.bling.product(remote_id)
        return None if found is None else ErpProduct(found.id, found.code, found.name, found.price)

    def products(self, page: int) -> list[ErpProduct]:
        """A page of Bling's products."""
        return [ErpProduct(p.id, p.code, p.name, p.price) for p in self.bling.products(page)]

    def set_stock(self, remote_id: str, units: int, note: str) -> None:
        """A balance (operation B) in the tenant's deposit."""
        self.bling.set_balance(remote_id, self._deposit(), units, note)

    def stock(self, remote_ids: Sequence[str]) -> dict[str, Decimal]:
        """Physical units in the configured deposit, else in all of them."""
        found = self.bling.balances(remote_ids, self.settings.deposit_id)
        return {product: balance.units for product, balance in found.items()}

    def find_sales_order(self, order: Order) -> str | None:
        """By the store number we gave it."""
        return self.bling.find_sales_order(store_number(order))

    def _contact(self, customer: CustomerRecord | None) -> str:
        local = customer.id if customer is not None else "anonymous"
        kept = find_ref(self.tenant_id, Provider.BLING, CONTACT, local)
        if kept is not None:
            return kept
        fields: dict[str, Any] = {"nome": "Consumidor final", "tipo": "F", "situacao": "A"}
        if customer is not None:
            fields = {"nome": customer.name, "codigo": customer.id[-15:], "tipo": "F", "situacao": "A"}
            if customer.document_encrypted:
                document = decrypt_field(self.tenant_id, customer.document_encrypted)
                fields["numeroDocumento"] = document
                fields["tipo"] = "J" if len(document) == 14 else "F"  # CNPJ 14 digits, CPF 11
            fields.update({k: v for k, v in (("email", customer.email), ("celular", customer.phone)) if v})
        return keep_ref(self.tenant_id, Provider.BLING, CONTACT, local, self.bling.create_contact(fields))

    def create_sales_order(
        self, order: Order, lines: Sequence[tuple[OrderLine, str | None]], customer: CustomerRecord | None
    ) -> str:
        """Items at their ordered unit price; the order's discounts as the sales order's discount (in reais)."""
        items = [
            {
                **({"produto": {"id": int(remote)}} if remote else {}),
                "codigo": line.code,
                "descricao": line.name,
                "unidade": "UN",
                "quantidade": line.quantity,
                "valor": _money(line.unit_price.amount),
            }
            for line, remote in lines
        ]
        body: dict[str, Any] = {
            "numeroLoja": store_number(order),
            "data": (order.paid_at or order.created_at)[:10],
            "contato": {"id": int(self._contact(customer))},
            "itens": items,
            "observacoes": f"BTRIX order #{order.number}",
        }
        if not order.totals.discounts.is_zero():
            body["desconto"] = {"valor": _money(order.totals.discounts.amount), "unidade": "REAL"}
        return self.bling.create_sales_order(body)

    def request_nfe(self, sales_order_id: str) -> str:
        """Bling drafts the NF-e from the sales order; ``nfe`` sends it to SEFAZ."""
        return self.bling.generate_nfe(sales_order_id)

    def erase_contact(self, customer_id: str, pseudonym: str) -> int:
        """The Bling contact made for the customer, anonymised."""
        contact = find_ref(self.tenant_id, Provider.BLING, CONTACT, customer_id)
        if contact is None:
            return 0
        self.bling.anonymise_contact(contact, pseudonym)
        return 1

    def nfe(self, nfe_id: str) -> ErpNfe:
        """Bling's NF-e; a pending one (situation 1) is sent to SEFAZ, then read again."""
        found: BlingNfe = self.bling.nfe(nfe_id)
        if found.status == 1:
            self.bling.send_nfe(nfe_id)
            found = self.bling.nfe(nfe_id)
        return ErpNfe(
            id=found.id,
            status=str(found.status),
            authorized=found.authorized,
            refused=found.refused,
            number=found.number,
            key=found.key,
            pdf_url=found.pdf_url,
        )


# Tiny's NF-e situations (not confirmed): 6 authorized ("Emitida DANFE"), 7 registered; 4 rejected, 2 cancelled,
# 9 denied. 1 pending (not sent), 5 sent (waiting for SEFAZ).
_TINY_AUTHORIZED = frozenset({"6", "7"})
_TINY_REFUSED = frozenset({"2", "4", "9"})


class TinyAccount:
    """``ErpAccount`` over Tiny ERP API 2.0."""

    provider = Provider.TINY

    def __init__(self, tenant_id: str, tiny: Tiny, credentials: TinyCredentials) -> None:
        self.tenant_id = tenant_id
        self.tiny = tiny
        self.settings: ErpSettings = credentials

    def find_product(self, code: str) -> str | None:
        """Tiny's product with our code (the search matches names too: the code must be equal)."""
        return next((p.id for p in self.tiny.search_products(code) if p.code == code), None)

    def save_product(self, remote_id: str | None, product: Product) -> str:
        """Code, name, price, unit, origin 0 (national), kind (P product / S service) and situation (A / I)."""
        fields: dict[str, Any] = {
            "codigo": product.code,
            "nome": product.name,
            "preco": str(product.price.amount.quantize(Decimal("0.01"))),
            "unidade": "UN",
            "origem": "0",
            "tipo": "P" if product.kind == "product" else "S",
            "situacao": "A" if product.active else "I",
        }
        return self.tiny.save_product(remote_id, fields)

    def products(self, page: int) -> list[ErpProduct]:
        """A page of Tiny's products (an empty search lists them all)."""
        return [ErpProduct(p.id, p.code, p.name, p.price) for p in self.tiny.search_products("", page)]

    def set_stock(self, remote_id: str, units: int, note: str) -> None:
        """A balance (type B) in Tiny's default deposit."""
        self.tiny.set_balance(remote_id, units, note, None)

    def stock(self, remote_ids: Sequence[str]) -> dict[str, Decimal]:
        """One call per product (Tiny has no batch read of stock)."""
        return {remote: self.tiny.stock(remote) for remote in remote_ids}

    def find_sales_order(self, order: Order) -> str | None:
        """By the e-commerce number we gave it."""
        return self.tiny.find_sales_order(store_number(order))

    def create_sales_order(
        self, order: Order, lines: Sequence[tuple[OrderLine, str | None]], customer: CustomerRecord | None
    ) -> str:
        """The customer inline (Tiny keeps its contacts by CPF/CNPJ), items by code at their ordered price."""
        client: dict[str, Any] = {"nome": "Consumidor final"}
        if customer is not None:
            client = {"nome": customer.name, "codigo": customer.id[-15:]}
            # Tiny makes (or updates) a contact of the client by its code: kept, so an erasure finds it there.
            keep_ref(self.tenant_id, Provider.TINY, CONTACT, customer.id, client["codigo"])
            if customer.document_encrypted:
                document = decrypt_field(customer.tenant_id, customer.document_encrypted)
                client.update(cpf_cnpj=document, tipo_pessoa="J" if len(document) == 14 else "F")
            client.update({k: v for k, v in (("email", customer.email), ("fone", customer.phone)) if v})
        items = [
            {
                "item": {
                    **({"id_produto": int(remote)} if remote else {}),
                    "codigo": line.code,
                    "descricao": line.name,
                    "unidade": "UN",
                    "quantidade": str(line.quantity),
                    "valor_unitario": str(line.unit_price.amount.quantize(Decimal("0.01"))),
                }
            }
            for line, remote in lines
        ]
        day = (order.paid_at or order.created_at)[:10]
        body: dict[str, Any] = {
            "data_pedido": f"{day[8:10]}/{day[5:7]}/{day[0:4]}",
            "cliente": client,
            "itens": items,
            "numero_ecommerce": store_number(order),
            "situacao": "aprovado",
            "obs": f"BTRIX order #{order.number}",
        }
        if not order.totals.discounts.is_zero():
            body["valor_desconto"] = str(order.totals.discounts.amount.quantize(Decimal("0.01")))
        return self.tiny.create_sales_order(body)

    def request_nfe(self, sales_order_id: str) -> str:
        """Tiny drafts the NF-e from the sales order; ``nfe`` sends it to SEFAZ."""
        return self.tiny.generate_nfe(sales_order_id)

    def erase_contact(self, customer_id: str, pseudonym: str) -> int:
        """The Tiny contacts with the code the customer's orders carried, anonymised."""
        code = find_ref(self.tenant_id, Provider.TINY, CONTACT, customer_id)
        found = self.tiny.find_contacts(code) if code is not None else []
        for contact in found:
            self.tiny.anonymise_contact(contact, str(code), pseudonym)
        return len(found)

    def nfe(self, nfe_id: str) -> ErpNfe:
        """Tiny's NF-e; a pending one (situation 1) is sent to SEFAZ, then read again."""
        found: TinyNfe = self.tiny.nfe(nfe_id)
        if found.status == "1":
            self.tiny.send_nfe(nfe_id)
            found = self.tiny.nfe(nfe_id)
        return ErpNfe(
            id=found.id,
            status=found.status,
            authorized=found.status in _TINY_AUTHORIZED,
            refused=found.status in _TINY_REFUSED,
            number=found.number,
            key=found.key,
            pdf_url=found.pdf_url,
        )


BLING_TOKENS = tokens.TokenSource(
    Provider.BLING,
    "Bling",
    refresh_grant,
    lambda credentials: credentials.refresh_token.get_secret_value(),
    rotates=True,
)


def bling_of_tenant(tenant_id: str) -> tuple[Bling, BlingCredentials]:
    """The tenant's Bling account, opened with its current access token (renewed, single flight, when Bling answers
    401), and its credentials; ``IntegrationNotConnected`` when not connected."""
    credentials, record = tokens.access_token(tenant_id, BLING_TOKENS)
    assert isinstance(credentials, BlingCredentials)
    refused = [record]

    def renew() -> str:
        refused[0] = tokens.renew(tenant_id, BLING_TOKENS, credentials, refused[0])
        return decrypt_field(tenant_id, refused[0].access_token_encrypted)

    return Bling(tenant_id, decrypt_field(tenant_id, record.access_token_encrypted), renew), credentials


def _bling_probe(tenant_id: str, credentials: object) -> str:
    """The connection test: the company the tenant's token opens."""
    return bling_of_tenant(tenant_id)[0].company()


probes.register(Provider.BLING, _bling_probe)


def open_account(tenant_id: str, provider: Provider) -> ErpAccount | None:
    """The tenant's account at the ERP ``provider``, or None when it is not connected."""
    if provider is Provider.BLING:
        try:
            bling, credentials = bling_of_tenant(tenant_id)
        except IntegrationNotConnected:
            return None
        return BlingAccount(tenant_id, bling, credentials)
    if provider is Provider.TINY:
        tiny = find_credentials(tenant_id, provider)
        if not isinstance(tiny, TinyCredentials):
            return None
        return TinyAccount(tenant_id, Tiny(tiny.api_token.get_secret_value()), tiny)
    return None
