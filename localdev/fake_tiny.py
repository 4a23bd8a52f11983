"""A fake Tiny ERP (API 2.0) on loopback, for tests and for ``make run`` without a Tiny account.

Point ``tiny_api_url`` at ``<url>/api2`` (``settings_env()``). Every method is ``POST /api2/<method>.php`` with a
form (``token``, ``formato=json``, objects as JSON strings) and answers **HTTP 200** with ``{"retorno": {"status":
"OK"|"Erro", "status_processamento", "codigo_erro", "erros": [{"erro"}], …}}``, as Tiny does:

- a token other than the company's → ``codigo_erro`` 2 (``{"revokeToken": true}`` makes the current one invalid);
- **the quota**: more than ``callsPerMinute`` calls (default 60) in the last minute, or the next ``quotaNext`` calls
  → ``codigo_erro`` 6 "API Bloqueada - Excedido o número de acessos" **with HTTP 200**;
- ``failNext`` / ``failRate`` / ``failStatus``: an HTTP 5xx (an outage of the gateway in front of the API).

Methods: ``info``; ``produtos.pesquisa`` (``pesquisa`` in name or code; nothing found → ``codigo_erro`` 20),
``produto.incluir`` / ``produto.alterar`` (``produto = {"produtos": [{"produto": {sequencia, codigo, nome, preco,
unidade, origem, situacao, tipo}}]}``; a ``codigo`` already there → the record's ``status: Erro``, code 30),
``produto.obter.estoque``, ``produto.atualizar.estoque`` (``estoque = {"estoque": {idProduto, tipo B|E|S,
quantidade}}``); ``pedido.incluir`` (``pedido = {"pedido": {…, numero_ecommerce}}``; **a repeated
``numero_ecommerce`` is accepted**; its ``cliente`` becomes a contact, one per ``codigo``), ``pedidos.pesquisa``
(``numeroEcommerce``); ``contatos.pesquisa`` (``pesquisa`` in name or code), ``contato.alterar``;
``gerar.nota.fiscal.pedido`` (once per order), ``nota.fiscal.emitir`` (situation 5, sent; authorized after
``nfeAuthorizeAfterReads`` reads of ``nota.fiscal.obter``, default 1: situation 6 with number and ``chave_acesso``;
``{"rejectNfe": true}``: 4), ``nota.fiscal.obter.link``. ``GET|DELETE /_received``; ``POST /_stock {"code",
"units"}`` (a person counts a product in Tiny, as ``set_stock()``); ``set_stock()``, ``stock_of()``, ``products()``,
``sales_orders()``, ``contacts()`` for tests.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from localdev.fake_base import Answer, LoopbackFake, json_handler, stock_count, window_full

__all__ = ["FakeTiny"]

_SENT = "5"  # (not confirmed) Tiny's situation codes: 5 sent, 6 authorized, 4 rejected
_AUTHORIZED = "6"
_REJECTED = "4"


def _ok(**fields: Any) -> Answer:
    return Answer(200, {"retorno": {"status_processamento": 3, "status": "OK", **fields}})


def _error(code: int, *messages: str) -> Answer:
    errors = [{"erro": message} for message in messages]
    return Answer(200, {"retorno": {"status_processamento": 1, "status": "Erro", "codigo_erro": code, "erros": errors}})


def _record(record_id: int, sequence: int = 1, **extra: Any) -> dict[str, Any]:
    return {"registro": {"sequencia": sequence, "status": "OK", "id": record_id, **extra}}


@dataclass
class _Nfe:
    id: int
    order_id: int
    status: str = "1"
    reads_left: int = 0
    number: str | None = None
    key: str | None = None


class FakeTiny(LoopbackFake):
    """Fake Tiny API 2.0 on 127.0.0.1 (a free port unless ``port`` is given), one company, its API ``token``."""

    kind = "tiny"

    def __init__(
        self, port: int = 0, *, token: str | None = None, company: str = "Mercearia Tiny Ltda", seed: int | None = None
    ) -> None:
        self.token = token or secrets.token_hex(32)
        self.company = company
        self.calls_per_minute = 60
        self.quota_next = 0
        self.reject_nfe = False
        self.nfe_authorize_after_reads = 1
        self.received: list[dict[str, Any]] = []
        self._recent: deque[float] = deque()
        self._ids = itertools.count(700_000_001)
        self._products: dict[int, dict[str, Any]] = {}
        self._stock: dict[int, Decimal] = {}
        self._orders: dict[int, dict[str, Any]] = {}
        self._contacts: dict[int, dict[str, Any]] = {}  # made from the orders' clients, by their code
        self._nfes: dict[int, _Nfe] = {}
        self._init_failures(seed)
        self._lock = threading.RLock()
        self._listen(port, json_handler(self._answer), "fake-tiny")

    # --- python helpers for tests and make run ----------------------------------------------------------------------

    def settings_env(self) -> dict[str, str]:
        """The environment that points BTRIX's Tiny setting at this fake."""
        return {"BTRIX_TINY_API_URL": f"{self.url}/api2"}

    def products(self) -> dict[str, dict[str, Any]]:
        """The company's products by code."""
        with self._lock:
            return {str(p["codigo"]): dict(p) for p in self._products.values()}

    def add_product(self, code: str, name: str, price: str = "10.00") -> int:
        """A product made in Tiny by a person; its id."""
        with self._lock:
            product_id = next(self._ids)
            self._products[product_id] = {"id": product_id, "codigo": code, "nome": name, "preco": price}
            return product_id

    def _id_of(self, code: str) -> int:
        return next(i for i, p in self._products.items() if p["codigo"] == code)

    def stock_of(self, code: str) -> Decimal:
        """The product's stock."""
        with self._lock:
            return self._stock.get(self._id_of(code), Decimal(0))

    def set_stock(self, code: str, units: int) -> None:
        """A person counted the product in Tiny."""
        with self._lock:
            self._stock[self._id_of(code)] = Decimal(units)

    def contacts(self) -> list[dict[str, Any]]:
        """Every contact (made from the sales orders' clients), as it is now."""
        with self._lock:
            return [dict(c) for c in self._contacts.values()]

    def sales_orders(self) -> list[dict[str, Any]]:
        """Every sales order made, in order."""
        with self._lock:
            return [dict(o) for o in self._orders.values()]

    def configure(self, **config: Any) -> dict[str, Any]:
        """What ``POST /_config`` does, from Python."""
        with self._lock:
            failures = self._configure_failures(config)
            if config.get("revokeToken"):
                self.token = secrets.token_hex(32)
            for name, attribute, kind in (
                ("callsPerMinute", "calls_per_minute", int),
                ("quotaNext", "quota_next", int),
                ("rejectNfe", "reject_nfe", bool),
                ("nfeAuthorizeAfterReads", "nfe_authorize_after_reads", int),
            ):
                if name in config:
                    setattr(self, attribute, kind(config[name]))
            return {
                "callsPerMinute": self.calls_per_minute,
                "quotaNext": self.quota_next,
                "rejectNfe": self.reject_nfe,
                "nfeAuthorizeAfterReads": self.nfe_authorize_after_reads,
                **failures,
            }

    # --- serving ----------------------------------------------------------------------------------------------------

    def _answer(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Answer:
        path = urlsplit(target).path
        if path == "/_stock" and method == "POST":
            return stock_count(self.set_stock, body)
        common = self._common_control(method, path, body)
        if common is not None:
            return common
        form = {name: values[0] for name, values in parse_qs(body.decode()).items()}
        name = path.removeprefix("/api2/").removesuffix(".php")
        with self._lock:
            reply = self._method(method, path, name, form)
            shown = {k: v for k, v in form.items() if k != "token"}
            status = reply.status
            said = reply.body.get("retorno", {}) if isinstance(reply.body, dict) else {}
            self.received.append(
                {"method": name, "status": status, "codigoErro": said.get("codigo_erro"), "form": shown}
            )
        return reply

    def _quota_exceeded(self) -> bool:
        if self.quota_next > 0:
            self.quota_next -= 1
            return True
        return window_full(self._recent, self.calls_per_minute, 60)

    def _method(self, method: str, path: str, name: str, form: dict[str, str]) -> Answer:
        if method != "POST" or not path.startswith("/api2/") or not path.endswith(".php"):
            return Answer(404, {"error": "not found"})
        if self._failing():
            return Answer(self.fail_status, {"error": "Service Unavailable"})
        if form.get("token") != self.token:
            return _error(2, "Token inválido ou não informado")
        if self._quota_exceeded():
            return _error(6, "API Bloqueada - Excedido o número de acessos a API")
        if form.get("formato") != "json":
            return _error(3, "Formato inválido")
        handler = {
            "info": self._info,
            "produtos.pesquisa": self._search,
            "produto.incluir": self._save,
            "produto.alterar": self._save,
            "produto.obter.estoque": self._get_stock,
            "produto.atualizar.estoque": self._update_stock,
            "pedido.incluir": self._order,
            "contatos.pesquisa": self._find_contacts,
            "contato.alterar": self._alter_contact,
            "pedidos.pesquisa": self._find_order,
            "gerar.nota.fiscal.pedido": self._generate_nfe,
            "nota.fiscal.emitir": self._emit_nfe,
            "nota.fiscal.obter": self._get_nfe,
            "nota.fiscal.obter.link": self._nfe_link,
        }.get(name)
        if handler is None:
            return _error(10, f"Método {name} não encontrado")
        try:
            return handler(name, form)
        except (ValueError, KeyError, TypeError) as exc:
            return _error(31, f"Erro de validação: {exc}")

    def _info(self, name: str, form: dict[str, str]) -> Answer:
        return _ok(conta={"razao_social": self.company, "fantasia": self.company, "cnpj": "12.345.678/0001-95"})

    def _search(self, name: str, form: dict[str, str]) -> Answer:
        text = form.get("pesquisa", "")
        found = [p for p in self._products.values() if text in str(p["codigo"]) or text in str(p["nome"])]
        page = int(form.get("pagina") or 1)
        shown = found[(page - 1) * 100 : page * 100]
        if not shown:
            return _error(20, "A consulta não retornou registros")
        return _ok(
            pagina=page, numero_paginas=max(1, (len(found) + 99) // 100), produtos=[{"produto": p} for p in shown]
        )

    def _save(self, name: str, form: dict[str, str]) -> Answer:
        product = json.loads(form["produto"])["produtos"][0]["produto"]
        if not product.get("codigo") or not product.get("nome"):
            return _error(31, "Código e nome são obrigatórios")
        if name == "produto.incluir":
            if any(p["codigo"] == product["codigo"] for p in self._products.values()):
                error = {
                    "sequencia": 1,
                    "status": "Erro",
                    "codigo_erro": 30,
                    "erros": [{"erro": "Registro em duplicidade"}],
                }
                return _ok(registros=[{"registro": error}])
            product_id = next(self._ids)
        else:
            product_id = int(product["id"])
            if product_id not in self._products:
                return _error(32, "Produto não encontrado")
        self._products[product_id] = {**product, "id": product_id}
        return _ok(registros=[_record(product_id)])

    def _get_stock(self, name: str, form: dict[str, str]) -> Answer:
        product_id = int(form["id"])
        product = self._products.get(product_id)
        if product is None:
            return _error(32, "Produto não encontrado")
        units = str(self._stock.get(product_id, Decimal(0)))
        return _ok(produto={"id": product_id, "codigo": product["codigo"], "saldo": units, "saldoReservado": "0"})

    def _update_stock(self, name: str, form: dict[str, str]) -> Answer:
        entry = json.loads(form["estoque"])["estoque"]
        product_id = int(entry["idProduto"])
        if product_id not in self._products:
            return _error(32, "Produto não encontrado")
        units, kind = Decimal(str(entry["quantidade"])), entry.get("tipo", "B")
        current = self._stock.get(product_id, Decimal(0))
        self._stock[product_id] = {"B": units, "E": current + units, "S": current - units}[kind]
        return _ok(registros=_record(next(self._ids)))

    def _order(self, name: str, form: dict[str, str]) -> Answer:
        order = json.loads(form["pedido"])["pedido"]
        if not order.get("itens") or not (order.get("cliente") or {}).get("nome"):
            return _error(31, "Cliente e itens são obrigatórios")
        order_id = next(self._ids)
        self._orders[order_id] = {**order, "id": order_id, "numero": len(self._orders) + 1}
        client = order["cliente"]
        same = [i for i, c in self._contacts.items() if client.get("codigo") and c.get("codigo") == client["codigo"]]
        contact_id = same[0] if same else next(self._ids)
        self._contacts[contact_id] = {**client, "id": contact_id}
        return _ok(
            registros={"registro": {"sequencia": 1, "status": "OK", "id": order_id, "numero": len(self._orders)}}
        )

    def _find_contacts(self, name: str, form: dict[str, str]) -> Answer:
        text = form.get("pesquisa", "")
        found = [c for c in self._contacts.values() if text in str(c.get("codigo")) or text in str(c.get("nome"))]
        if not found:
            return _error(20, "A consulta não retornou registros")
        return _ok(pagina=1, numero_paginas=1, contatos=[{"contato": dict(c)} for c in found])

    def _alter_contact(self, name: str, form: dict[str, str]) -> Answer:
        contact = json.loads(form["contato"])["contatos"][0]["contato"]
        contact_id = int(contact["id"])
        if contact_id not in self._contacts or not contact.get("nome"):
            return _error(32, "Contato não encontrado")
        self._contacts[contact_id] = {**self._contacts[contact_id], **contact, "id": contact_id}
        return _ok(registros=[_record(contact_id)])

    def _find_order(self, name: str, form: dict[str, str]) -> Answer:
        number = form.get("numeroEcommerce")
        found = [o for o in self._orders.values() if str(o.get("numero_ecommerce")) == number]
        if not found:
            return _error(20, "A consulta não retornou registros")
        shown = [
            {"pedido": {"id": o["id"], "numero": o["numero"], "numero_ecommerce": o.get("numero_ecommerce")}}
            for o in found
        ]
        return _ok(pedidos=shown)

    def _generate_nfe(self, name: str, form: dict[str, str]) -> Answer:
        order_id = int(form["id"])
        if order_id not in self._orders:
            return _error(32, "Pedido não encontrado")
        if any(n.order_id == order_id for n in self._nfes.values()):
            return _error(31, "O pedido já possui nota fiscal")
        nfe_id = next(self._ids)
        self._nfes[nfe_id] = _Nfe(nfe_id, order_id)
        return _ok(registros={"registro": {"idNotaFiscal": nfe_id, "serie": "1", "numero": None}})

    def _nfe_of(self, form: dict[str, str]) -> _Nfe | None:
        return self._nfes.get(int(form.get("id") or 0))

    def _emit_nfe(self, name: str, form: dict[str, str]) -> Answer:
        nfe = self._nfe_of(form)
        if nfe is None:
            return _error(32, "Nota fiscal não encontrada")
        if nfe.status != "1":
            return _error(31, "A nota fiscal já foi emitida")
        nfe.status, nfe.reads_left = _SENT, self.nfe_authorize_after_reads
        return _ok(nota_fiscal={"id": nfe.id, "situacao": nfe.status})

    def _get_nfe(self, name: str, form: dict[str, str]) -> Answer:
        nfe = self._nfe_of(form)
        if nfe is None:
            return _error(32, "Nota fiscal não encontrada")
        if nfe.status == _SENT:
            if nfe.reads_left > 0:
                nfe.reads_left -= 1
            elif self.reject_nfe:
                nfe.status = _REJECTED
            else:
                nfe.status = _AUTHORIZED
                nfe.number = f"{sum(1 for n in self._nfes.values() if n.number) + 1:06d}"
                nfe.key = "3526" + "".join(str(self._random.randrange(10)) for _ in range(40))
        shown: dict[str, Any] = {"id": nfe.id, "situacao": nfe.status, "serie": "1"}
        if nfe.status == _AUTHORIZED:
            shown.update(numero=nfe.number, chave_acesso=nfe.key)
        return _ok(nota_fiscal=shown)

    def _nfe_link(self, name: str, form: dict[str, str]) -> Answer:
        nfe = self._nfe_of(form)
        if nfe is None or nfe.status != _AUTHORIZED:
            return _error(32, "Nota fiscal não encontrada ou não autorizada")
        return _ok(link_nfe=f"{self.url}/doc.view.php?id={nfe.id}")
