"""The records of the fake Bling's company (products, stock per deposit, contacts, sales orders, NF-e) and how its API
v3 changes them, with the ``stock.updated`` webhooks every stock change posts: what ``FakeBling`` (the server, its
OAuth, rate limit and dispatch) builds on. Errors are Bling's: ``{"error": {"type", "message", "description",
"fields": [{"code", "msg", "element"}]}}``."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from localdev.fake_base import Answer, LoopbackFake

__all__ = ["DEPOSIT", "BlingRecords", "State", "error", "invalid"]

DEPOSIT = 14886653000
_AUTHORIZED = 5
_PENDING = 1
_SENT = 10  # waiting for SEFAZ (not confirmed: Bling's code for it)


def error(status: int, kind: str, message: str, fields: list[dict[str, Any]] | None = None) -> Answer:
    """A Bling error answer."""
    body: dict[str, Any] = {"type": kind, "message": message, "description": message}
    if fields:
        body["fields"] = fields
    return Answer(status, {"error": body})


def invalid(element: str, msg: str) -> Answer:
    """Bling's ``VALIDATION_ERROR`` naming ``element``."""
    return error(400, "VALIDATION_ERROR", "Não foi possível salvar", [{"code": 1, "msg": msg, "element": element}])


@dataclass
class _Nfe:
    id: int
    order_id: int
    status: int = _PENDING
    reads_left: int = 0
    number: str | None = None
    key: str | None = None


@dataclass
class State:
    """What the company holds in Bling."""

    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    stock: dict[tuple[int, int], Decimal] = field(default_factory=dict)
    movements: list[dict[str, Any]] = field(default_factory=list)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    nfes: dict[int, _Nfe] = field(default_factory=dict)


class BlingRecords(LoopbackFake):
    """The company's records behind the fake Bling's API (the caller holds the lock)."""

    client_secret: str | None
    company_id: str
    reject_nfe: bool
    nfe_authorize_after_reads: int
    webhook_url: str | None
    webhook_twice: bool
    webhooks: list[dict[str, Any]]
    _ids: itertools.count[int]
    _state: State
    _random: random.Random
    _lock: threading.RLock

    def _product(self, product_id: int, sent: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": product_id,
            "nome": sent.get("nome"),
            "codigo": sent.get("codigo"),
            "preco": float(sent.get("preco") or 0),
            "tipo": sent.get("tipo", "P"),
            "situacao": sent.get("situacao", "A"),
            "formato": sent.get("formato", "S"),
            "descricaoCurta": sent.get("descricaoCurta"),
        }

    def _products(self, method: str, segments: list[str], query: dict[str, list[str]], sent: Any) -> Answer:
        products = self._state.products
        if method == "GET" and len(segments) == 1:
            codes = set(query.get("codigos[]", []))
            listed = [p for p in products.values() if not codes or p["codigo"] in codes]
            limit = int(query.get("limite", ["100"])[0])
            page = int(query.get("pagina", ["1"])[0])
            return Answer(200, {"data": listed[(page - 1) * limit : page * limit]})
        if method == "POST" and len(segments) == 1:
            if not isinstance(sent, dict) or not sent.get("nome"):
                return invalid("nome", "O nome do produto é obrigatório")
            if any(p["codigo"] == sent.get("codigo") for p in products.values()):
                return invalid("codigo", f"O código {sent.get('codigo')} já está cadastrado em outro produto")
            product_id = next(self._ids)
            products[product_id] = self._product(product_id, sent)
            return Answer(201, {"data": {"id": product_id, "variations": {"saved": [], "deleted": []}}})
        if method == "GET" and len(segments) == 2 and segments[1].isdigit():
            found = products.get(int(segments[1]))
            if found is None:
                return error(404, "RESOURCE_NOT_FOUND", "Produto não encontrado")
            return Answer(200, {"data": found})
        if method == "PUT" and len(segments) == 2 and segments[1].isdigit():
            product_id = int(segments[1])
            if product_id not in products:
                return error(404, "RESOURCE_NOT_FOUND", "Produto não encontrado")
            if not isinstance(sent, dict) or not sent.get("nome"):
                return invalid("nome", "O nome do produto é obrigatório")
            products[product_id] = self._product(product_id, sent)
            return Answer(200, {"data": {"id": product_id}})
        return error(404, "RESOURCE_NOT_FOUND", "O recurso requisitado não foi encontrado")

    def _stock(self, method: str, segments: list[str], query: dict[str, list[str]], sent: Any) -> Answer:
        if method == "GET" and segments[1:] == ["saldos"]:
            ids = [int(i) for i in query.get("idsProdutos[]", []) if i.isdigit()]
            if not ids:
                return invalid("idsProdutos", "Informe ao menos um produto")
            listed = []
            for product_id in ids:
                product = self._state.products.get(product_id)
                if product is None:
                    continue
                units = self._state.stock.get((product_id, DEPOSIT), Decimal(0))
                listed.append(
                    {
                        "produto": {"id": product_id, "codigo": product["codigo"]},
                        "saldoFisicoTotal": float(units),
                        "saldoVirtualTotal": float(units),
                        "depositos": [{"id": DEPOSIT, "saldoFisico": float(units), "saldoVirtual": float(units)}],
                    }
                )
            return Answer(200, {"data": listed})
        if method == "POST" and len(segments) == 1:
            if not isinstance(sent, dict):
                return invalid("produto", "Informe o produto")
            product_id = int((sent.get("produto") or {}).get("id") or 0)
            deposit_id = int((sent.get("deposito") or {}).get("id") or 0)
            if product_id not in self._state.products:
                return invalid("produto.id", "Produto não encontrado")
            if deposit_id != DEPOSIT:
                return invalid("deposito.id", "Depósito não encontrado")
            operation, units = sent.get("operacao"), Decimal(str(sent.get("quantidade", 0)))
            key = (product_id, deposit_id)
            current = self._state.stock.get(key, Decimal(0))
            if operation == "B":
                self._state.stock[key] = units
            elif operation == "E":
                self._state.stock[key] = current + units
            elif operation == "S":
                self._state.stock[key] = current - units
            else:
                return invalid("operacao", "Operação inválida (B, E ou S)")
            movement_id = next(self._ids)
            self._state.movements.append({**sent, "id": movement_id})
            self._notify_stock(product_id, str(operation), units)
            return Answer(201, {"data": {"id": movement_id}})
        return error(404, "RESOURCE_NOT_FOUND", "O recurso requisitado não foi encontrado")

    def _notify_stock(self, product_id: int, operation: str, units: Decimal) -> None:
        """Bling's ``stock.updated`` webhook to ``webhook_url`` (in the background, as Bling sends it), signed with
        the app's client secret; twice with the same ``eventId`` when ``webhookTwice`` (Bling retries)."""
        if not self.webhook_url:
            return
        total = float(self._state.stock.get((product_id, DEPOSIT), Decimal(0)))
        event = {
            "eventId": str(uuid.uuid4()),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "version": "v1",
            "event": "stock.updated",
            "companyId": self.company_id,
            "data": {
                "produto": {"id": product_id},
                "deposito": {"id": DEPOSIT, "saldoFisico": total, "saldoVirtual": total},
                "operacao": operation,
                "quantidade": float(units),
                "saldoFisicoTotal": total,
                "saldoVirtualTotal": total,
            },
        }
        body = json.dumps(event).encode()
        signature = hmac.new((self.client_secret or "").encode(), body, hashlib.sha256).hexdigest()
        url, times = self.webhook_url, 2 if self.webhook_twice else 1
        threading.Thread(target=self._post_webhook, args=(url, body, signature, times), daemon=True).start()

    def _post_webhook(self, url: str, body: bytes, signature: str, times: int) -> None:
        import httpx

        headers = {"Content-Type": "application/json", "X-Bling-Signature-256": f"sha256={signature}"}
        for _ in range(times):
            try:
                status = httpx.post(url, content=body, headers=headers, timeout=30).status_code
            except httpx.HTTPError:
                status = 0  # not delivered: shown as such in ``webhooks``
            with self._lock:
                self.webhooks.append({"event": json.loads(body), "status": status})

    def _orders(self, method: str, rest: list[str], query: dict[str, list[str]], sent: Any) -> Answer:
        orders = self._state.orders
        if method == "GET" and not rest:
            numbers = set(query.get("numerosLojas[]", []))
            return Answer(200, {"data": [o for o in orders.values() if not numbers or o.get("numeroLoja") in numbers]})
        if method == "POST" and not rest:
            if (
                not isinstance(sent, dict)
                or int((sent.get("contato") or {}).get("id") or 0) not in self._state.contacts
            ):
                return invalid("contato.id", "Contato não encontrado")
            items = sent.get("itens") or []
            if not items:
                return invalid("itens", "Informe ao menos um item")
            for item in items:
                product = item.get("produto")
                if product and int(product.get("id") or 0) not in self._state.products:
                    return invalid("itens.produto.id", "Produto não encontrado")
            order_id = next(self._ids)
            orders[order_id] = {**sent, "id": order_id, "numero": len(orders) + 1}
            return Answer(201, {"data": {"id": order_id, "alertas": []}})
        if method == "POST" and len(rest) == 2 and rest[1] == "gerar-nfe" and rest[0].isdigit():
            order_id = int(rest[0])
            if order_id not in orders:
                return error(404, "RESOURCE_NOT_FOUND", "Pedido não encontrado")
            if any(n.order_id == order_id for n in self._state.nfes.values()):
                return invalid("pedido", "O pedido já possui nota fiscal")
            nfe_id = next(self._ids)
            self._state.nfes[nfe_id] = _Nfe(nfe_id, order_id)
            return Answer(201, {"data": {"id": nfe_id}})
        return error(404, "RESOURCE_NOT_FOUND", "O recurso requisitado não foi encontrado")

    def _nfe(self, method: str, rest: list[str]) -> Answer:
        nfe = self._state.nfes.get(int(rest[0])) if rest[0].isdigit() else None
        if nfe is None:
            return error(404, "RESOURCE_NOT_FOUND", "Nota fiscal não encontrada")
        if method == "POST" and rest[1:] == ["enviar"]:
            if nfe.status != _PENDING:
                return invalid("situacao", "A nota não está pendente")
            nfe.status, nfe.reads_left = _SENT, self.nfe_authorize_after_reads
            return Answer(200, {"data": {"xml": "<nfeProc/>"}})
        if method == "GET" and len(rest) == 1:
            if nfe.status == _SENT:
                if nfe.reads_left > 0:
                    nfe.reads_left -= 1
                elif self.reject_nfe:
                    nfe.status = 4
                else:
                    nfe.status = _AUTHORIZED
                    nfe.number = f"{len([n for n in self._state.nfes.values() if n.number]) + 1:06d}"
                    nfe.key = "3526" + "".join(str(self._random.randrange(10)) for _ in range(40))
            shown: dict[str, Any] = {"id": nfe.id, "situacao": nfe.status, "tipo": 1, "serie": 1}
            if nfe.status == _AUTHORIZED:
                shown.update(
                    numero=nfe.number,
                    chaveAcesso=nfe.key,
                    linkDanfe=f"{self.url}/doc.view.php?id={nfe.id}",
                    linkPDF=f"{self.url}/doc.view.php?id={nfe.id}&pdf=true",
                )
            return Answer(200, {"data": shown})
        return error(404, "RESOURCE_NOT_FOUND", "O recurso requisitado não foi encontrado")
