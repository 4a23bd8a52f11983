"""A fake Bling (ERP, API v3) on loopback, for tests and for ``make run`` without a Bling account.

Point the settings at it with ``settings_env(redirect_uri)``: ``bling_api_url`` = ``<url>/Api/v3``, the OAuth
endpoints ``<url>/Api/v3/oauth/authorize`` and ``…/oauth/token``.

- OAuth 2.0 authorization code: ``GET /Api/v3/oauth/authorize?response_type=code&client_id&state`` answers what the
  user's "Autorizar" does: a 302 to the app's redirect URI (``redirect_uri`` of the fake: Bling keeps it with the app)
  with ``?code&state`` (``{"denyConsent": true}``: ``?error=access_denied&state``). ``POST /Api/v3/oauth/token``
  (form, the app as HTTP Basic): ``authorization_code`` (a code works once) and ``refresh_token``. **Refresh tokens
  rotate**: every refresh answers a new one and kills the one used, so a second refresh with it → 400
  ``{"error": {"type": "invalid_grant"}}`` (as does every refresh after ``{"invalidGrant": true}``). A wrong app →
  401 ``invalid_client``. ``refreshes`` counts the refresh grants asked for.
- The API (bearer tokens must be live: ``{"expireTokens": true}`` expires the current ones → 401 ``invalid_token``):
  ``GET /empresas/me/dados-basicos``; ``GET /depositos``; ``GET /produtos`` (``codigos[]``, ``pagina``, ``limite``),
  ``POST /produtos`` (``nome`` and ``codigo`` required; a ``codigo`` already there → 400 ``VALIDATION_ERROR``),
  ``PUT /produtos/{id}``; ``POST /estoques`` (operations ``B`` balance, ``E`` in, ``S`` out, per deposit), ``GET
  /estoques/saldos?idsProdutos[]=``; ``POST /contatos``, ``PUT /contatos/{id}`` (replaces it); ``GET
  /pedidos/vendas?numerosLojas[]=``, ``POST /pedidos/vendas`` (a known contact and items required; **a repeated
  ``numeroLoja`` is accepted**, as Bling does, so a client that does not look first makes a duplicate); ``POST
  /pedidos/vendas/{id}/gerar-nfe`` (an NF-e, situation 1 pending; a second one for the same order → 400), ``POST
  /nfe/{id}/enviar`` and ``GET /nfe/{id}``: authorization takes ``nfeAuthorizeAfterReads`` reads (default 1) after
  sending, then situation 5 with number, access key and DANFE link (``{"rejectNfe": true}``: situation 4).
- **Rate limit**: more than 3 requests in one second → 429 ``{"error": {"type": "TOO_MANY_REQUESTS"}}``;
  ``{"rateLimitNext": n}`` forces the next n. ``failNext`` / ``failRate`` / ``failStatus`` fail API calls with a 5xx.
- Errors are Bling's: ``{"error": {"type", "message", "description", "fields": [{"code", "msg", "element"}]}}``.
- **Webhooks** (``{"webhookUrl": url}``): every stock change (BTRIX's own ``POST /estoques`` included, and a
  person's count) posts ``{eventId, date, version, event: "stock.updated", companyId, data: {produto: {id}, deposito,
  operacao, quantidade, saldoFisicoTotal, saldoVirtualTotal}}`` signed ``X-Bling-Signature-256: sha256=<hex
  HMAC-SHA256(client secret, body)>``, in the background; ``{"webhookTwice": true}`` posts each twice with the same
  ``eventId`` (Bling retries). ``webhooks`` lists what was posted and the status answered.
- ``GET /empresas/me/dados-basicos`` answers the company's ``id`` (``company_id``, its webhooks' ``companyId``) and
  name. ``GET /produtos/{id}``. ``GET|DELETE /_received``; ``POST /_stock {"code", "units"}`` (a person counts a product
  in Bling, as ``set_stock()``); ``set_stock()``, ``add_product()``, ``sales_orders()``, ``products()``,
  ``contacts()`` for tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from localdev.fakes import Answer, LoopbackFake, json_handler, stock_count, window_full

__all__ = ["FakeBling"]

ACCESS_TOKEN_LIFETIME_S = 21600
_API = "/Api/v3"
_DEPOSIT = 14886653000
_AUTHORIZED = 5
_PENDING = 1
_SENT = 10  # waiting for SEFAZ (not confirmed: Bling's code for it)


def _error(status: int, kind: str, message: str, fields: list[dict[str, Any]] | None = None) -> Answer:
    error: dict[str, Any] = {"type": kind, "message": message, "description": message}
    if fields:
        error["fields"] = fields
    return Answer(status, {"error": error})


def _invalid(element: str, msg: str) -> Answer:
    return _error(400, "VALIDATION_ERROR", "Não foi possível salvar", [{"code": 1, "msg": msg, "element": element}])


@dataclass
class _Token:
    expires_at: float
    expired: bool = False


@dataclass
class _Nfe:
    id: int
    order_id: int
    status: int = _PENDING
    reads_left: int = 0
    number: str | None = None
    key: str | None = None


@dataclass
class _State:
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    stock: dict[tuple[int, int], Decimal] = field(default_factory=dict)
    movements: list[dict[str, Any]] = field(default_factory=list)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    nfes: dict[int, _Nfe] = field(default_factory=dict)


class FakeBling(LoopbackFake):
    """Fake Bling API v3 and its OAuth on 127.0.0.1 (a free port unless ``port`` is given), one company.

    ``client_id``/``client_secret``: the app the token endpoint accepts (None: any non-empty pair);
    ``redirect_uri``: where consent sends the browser back (the app's registered redirect).
    """

    kind = "bling"

    def __init__(
        self,
        port: int = 0,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str = "",
        company: str = "Empório Demo Ltda",
        seed: int | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.company = company
        # The company's id (a hash, like Bling's): ``GET /empresas/me/dados-basicos`` answers it as ``id`` and every
        # webhook names it as ``companyId`` (what routes a webhook of BTRIX's shared app). One per fake: another
        # fake is another company.
        self.company_id = uuid.uuid4().hex
        self.deny_consent = False
        self.invalid_grant = False
        self.reject_nfe = False
        self.nfe_authorize_after_reads = 1
        self.requests_per_second = 3
        self.rate_limit_next = 0
        self.webhook_url: str | None = None
        self.webhook_twice = False
        self.received: list[dict[str, Any]] = []
        self.webhooks: list[dict[str, Any]] = []  # what the fake posted to webhook_url, with the status answered
        self._codes: set[str] = set()
        self._refresh_tokens: set[str] = set()
        self._tokens: dict[str, _Token] = {}
        self._recent: deque[float] = deque()
        self._refreshes = 0
        self._ids = itertools.count(16_000_000_001)
        self._state = _State()
        self._init_failures(seed)
        self._lock = threading.RLock()
        self._listen(port, json_handler(self._answer), "fake-bling")

    # --- python helpers for tests and make run ----------------------------------------------------------------------

    def settings_env(self, redirect_uri: str | None = None) -> dict[str, str]:
        """The environment that points BTRIX's Bling settings at this fake."""
        if redirect_uri is not None:
            self.redirect_uri = redirect_uri
        return {
            "BTRIX_BLING_API_URL": f"{self.url}{_API}",
            "BTRIX_BLING_OAUTH_AUTHORIZE_URL": f"{self.url}{_API}/oauth/authorize",
            "BTRIX_BLING_OAUTH_TOKEN_URL": f"{self.url}{_API}/oauth/token",
            **({"BTRIX_BLING_OAUTH_REDIRECT_URL": self.redirect_uri} if self.redirect_uri else {}),
        }

    @property
    def refreshes(self) -> int:
        """How many refresh grants were asked for (honoured or not)."""
        with self._lock:
            return self._refreshes

    def issue_refresh_token(self) -> str:
        """A refresh token as a past consent gave it (to connect without the consent round trip)."""
        with self._lock:
            token = secrets.token_hex(20)
            self._refresh_tokens.add(token)
            return token

    def products(self) -> dict[str, dict[str, Any]]:
        """The company's products by code."""
        with self._lock:
            return {str(p["codigo"]): dict(p) for p in self._state.products.values()}

    def add_product(self, code: str, name: str, price: str = "10.00") -> int:
        """A product made in Bling by a person; its id."""
        with self._lock:
            product_id = next(self._ids)
            self._state.products[product_id] = self._product(product_id, {"codigo": code, "nome": name, "preco": price})
            return product_id

    def stock_of(self, code: str) -> Decimal:
        """The product's physical units in the default deposit."""
        with self._lock:
            product_id = next(i for i, p in self._state.products.items() if p["codigo"] == code)
            return self._state.stock.get((product_id, _DEPOSIT), Decimal(0))

    def set_stock(self, code: str, units: int) -> None:
        """A person counted the product in Bling (its webhook tells the app)."""
        with self._lock:
            product_id = next(i for i, p in self._state.products.items() if p["codigo"] == code)
            self._state.stock[(product_id, _DEPOSIT)] = Decimal(units)
            self._notify_stock(product_id, "B", Decimal(units))

    def contacts(self) -> list[dict[str, Any]]:
        """Every contact, as it is now."""
        with self._lock:
            return [dict(c) for c in self._state.contacts.values()]

    def sales_orders(self) -> list[dict[str, Any]]:
        """Every sales order made, in order."""
        with self._lock:
            return [dict(o) for o in self._state.orders.values()]

    def movements(self) -> list[dict[str, Any]]:
        """Every stock entry posted, in order."""
        with self._lock:
            return list(self._state.movements)

    def configure(self, **config: Any) -> dict[str, Any]:
        """What ``POST /_config`` does, from Python."""
        with self._lock:
            failures = self._configure_failures(config)
            if config.get("expireTokens"):
                for token in self._tokens.values():
                    token.expired = True
            for name, attribute, kind in (
                ("denyConsent", "deny_consent", bool),
                ("invalidGrant", "invalid_grant", bool),
                ("rejectNfe", "reject_nfe", bool),
                ("nfeAuthorizeAfterReads", "nfe_authorize_after_reads", int),
                ("requestsPerSecond", "requests_per_second", int),
                ("rateLimitNext", "rate_limit_next", int),
                ("webhookTwice", "webhook_twice", bool),
            ):
                if name in config:
                    setattr(self, attribute, kind(config[name]))
            if "webhookUrl" in config:
                self.webhook_url = str(config["webhookUrl"]) or None
            return {
                "webhookUrl": self.webhook_url,
                "webhookTwice": self.webhook_twice,
                "denyConsent": self.deny_consent,
                "invalidGrant": self.invalid_grant,
                "rejectNfe": self.reject_nfe,
                "nfeAuthorizeAfterReads": self.nfe_authorize_after_reads,
                "requestsPerSecond": self.requests_per_second,
                "rateLimitNext": self.rate_limit_next,
                **failures,
            }

    # --- serving ----------------------------------------------------------------------------------------------------

    def _answer(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Answer:
        parts = urlsplit(target)
        path = parts.path
        query = parse_qs(parts.query)
        if path == "/_stock" and method == "POST":
            return stock_count(self.set_stock, body)
        common = self._common_control(method, path, body, refreshes=self._refreshes)
        if common is not None:
            return common
        entry: dict[str, Any] = {"method": method, "path": path, "query": query}
        with self._lock:
            if path == f"{_API}/oauth/authorize" and method == "GET":
                reply = self._consent({k: v[0] for k, v in query.items()})
            elif path == f"{_API}/oauth/token" and method == "POST":
                reply = self._token({k: v[0] for k, v in parse_qs(body.decode()).items()}, headers)
                entry["body"] = {"grant_type": parse_qs(body.decode()).get("grant_type", [""])[0]}
            elif path.startswith(f"{_API}/"):
                sent = _json(body)
                entry["body"] = sent
                reply = self._api(method, path[len(_API) :], query, sent, headers)
            else:
                reply = _error(404, "RESOURCE_NOT_FOUND", f"Not found: {path}")
            entry["status"] = reply.status
            self.received.append(entry)
        return reply

    # --- OAuth ------------------------------------------------------------------------------------------------------

    def _consent(self, query: dict[str, str]) -> Answer:
        if query.get("response_type") != "code" or not query.get("client_id"):
            return _error(400, "invalid_request", "response_type=code and client_id are required")
        if self.client_id is not None and query["client_id"] != self.client_id:
            return _error(400, "invalid_client", "Aplicativo não encontrado")
        state = query.get("state", "")
        if self.deny_consent:
            answer = {"error": "access_denied", "state": state}
        else:
            code = secrets.token_hex(20)
            self._codes.add(code)
            answer = {"code": code, "state": state}
        separator = "&" if "?" in self.redirect_uri else "?"
        return Answer(302, None, (("Location", f"{self.redirect_uri}{separator}{urlencode(answer)}"),))

    def _client_ok(self, headers: dict[str, str]) -> bool:
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme != "Basic":
            return False
        try:
            client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        if not client_id or not client_secret:
            return False
        return self.client_id is None or (client_id, client_secret) == (self.client_id, self.client_secret)

    def _grant(self) -> dict[str, Any]:
        access = secrets.token_hex(20)
        refresh = secrets.token_hex(20)
        self._tokens[access] = _Token(time.time() + ACCESS_TOKEN_LIFETIME_S)
        self._refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "expires_in": ACCESS_TOKEN_LIFETIME_S,
            "token_type": "Bearer",
            "scope": "98309 318257570",
            "refresh_token": refresh,
        }

    def _token(self, form: dict[str, str], headers: dict[str, str]) -> Answer:
        if not self._client_ok(headers):
            return _error(401, "invalid_client", "Invalid client credentials")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            if form.get("code") not in self._codes:
                return _error(400, "invalid_grant", "Authorization code inválido ou já utilizado")
            self._codes.discard(form["code"])
            return Answer(200, self._grant())
        if grant_type == "refresh_token":
            self._refreshes += 1
            used = form.get("refresh_token", "")
            if used not in self._refresh_tokens or self.invalid_grant:
                return _error(400, "invalid_grant", "Invalid refresh token")
            self._refresh_tokens.discard(used)  # rotation: the one used is dead from now on
            return Answer(200, self._grant())
        return _error(400, "unsupported_grant_type", "Invalid grant_type")

    # --- API --------------------------------------------------------------------------------------------------------

    def _throttled(self) -> bool:
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            return True
        return window_full(self._recent, self.requests_per_second, 1.0)

    def _api(self, method: str, path: str, query: dict[str, list[str]], sent: Any, headers: dict[str, str]) -> Answer:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        found = self._tokens.get(token) if scheme == "Bearer" else None
        if found is None or found.expired or found.expires_at <= time.time():
            return _error(401, "invalid_token", "invalid_token")
        if self._throttled():
            return _error(429, "TOO_MANY_REQUESTS", "Limite de requisições atingido")
        if self._failing():
            return _error(self.fail_status, "SERVER_ERROR", "Erro interno")
        segments = path.strip("/").split("/")
        route = (method, segments[0], len(segments))
        if route == ("GET", "empresas", 3):
            return Answer(
                200,
                {
                    "data": {
                        "id": self.company_id,
                        "nome": self.company,
                        "cnpj": "12345678000195",
                        "email": "fiscal@demo.example",
                    }
                },
            )
        if route == ("GET", "depositos", 1):
            deposit = {"id": _DEPOSIT, "descricao": "Geral", "situacao": 1, "padrao": True, "desconsiderarSaldo": False}
            return Answer(200, {"data": [deposit]})
        if segments[0] == "produtos":
            return self._products(method, segments, query, sent)
        if segments[0] == "estoques":
            return self._stock(method, segments, query, sent)
        if route == ("POST", "contatos", 1):
            if not isinstance(sent, dict) or not sent.get("nome"):
                return _invalid("nome", "O nome do contato é obrigatório")
            contact_id = next(self._ids)
            self._state.contacts[contact_id] = {**sent, "id": contact_id}
            return Answer(201, {"data": {"id": contact_id}})
        if method == "PUT" and segments[0] == "contatos" and len(segments) == 2:
            known = int(segments[1]) if segments[1].isdigit() else 0
            if known not in self._state.contacts:
                return _error(404, "RESOURCE_NOT_FOUND", "O contato não foi encontrado")
            if not isinstance(sent, dict) or not sent.get("nome"):
                return _invalid("nome", "O nome do contato é obrigatório")
            self._state.contacts[known] = {**sent, "id": known}  # a PUT replaces the contact
            return Answer(204, None)
        if segments[0] == "pedidos" and len(segments) >= 2 and segments[1] == "vendas":
            return self._orders(method, segments[2:], query, sent)
        if segments[0] == "nfe" and len(segments) >= 2:
            return self._nfe(method, segments[1:])
        return _error(404, "RESOURCE_NOT_FOUND", "O recurso requisitado não foi encontrado")

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
                return _invalid("nome", "O nome do produto é obrigatório")
            if any(p["codigo"] == sent.get("codigo") for p in products.values()):
                return _invalid("codigo", f"O código {sent.get('codigo')} já está cadastrado em outro produto")
            product_id = next(self._ids)
            products[product_id] = self._product(product_id, sent)
            return Answer(201, {"data": {"id": product_id, "variations": {"saved": [], "deleted": []}}})
        if method == "GET" and len(segments) == 2 and segments[1].isdigit():
            found = products.get(int(segments[1]))
            if found is None:
                return _error(404, "RESOURCE_NOT_FOUND", "Produto não encontrado")
            return Answer(200, {"data": found})
        if method == "PUT" and len(segments) == 2 and segments[1].isdigit():
            product_id = int(segments[1])
            if product_id not in products:
                return _error(404, "RESOURCE_NOT_FOUND", "Produto não encontrado")
            if not isinstance(sent, dict) or not sent.get("nome"):
                return _invalid("nome", "O nome do produto é obrigatório")
            products[product_id] = self._product(product_id, sent)
            return Answer(200, {"data": {"id": product_id}})
        return _error(404, "RESOURCE_NOT_FOUND", "O recurso requisitado não foi encontrado")

    def _stock(self, method: str, segments: list[str], query: dict[str, list[str]], sent: Any) -> Answer:
        if method == "GET" and segments[1:] == ["saldos"]:
            ids = [int(i) for i in query.get("idsProdutos[]", []) if i.isdigit()]
            if not ids:
                return _invalid("idsProdutos", "Informe ao menos um produto")
            listed = []
            for product_id in ids:
                product = self._state.products.get(product_id)
                if product is None:
                    continue
                units = self._state.stock.get((product_id, _DEPOSIT), Decimal(0))
                listed.append(
                    {
                        "produto": {"id": product_id, "codigo": product["codigo"]},
                        "saldoFisicoTotal": float(units),
                        "saldoVirtualTotal": float(units),
                        "depositos": [{"id": _DEPOSIT, "saldoFisico": float(units), "saldoVirtual": float(units)}],
                    }
                )
            return Answer(200, {"data": listed})
        if method == "POST" and len(segments) == 1:
            if not isinstance(sent, dict):
                return _invalid("produto", "Informe o produto")
            product_id = int((sent.get("produto") or {}).get("id") or 0)
            deposit_id = int((sent.get("deposito") or {}).get("id") or 0)
            if product_id not in self._state.products:
                return _invalid("produto.id", "Produto não encontrado")
            if deposit_id != _DEPOSIT:
                return _invalid("deposito.id", "Depósito não encontrado")
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
                return _invalid("operacao", "Operação inválida (B, E ou S)")
            movement_id = next(self._ids)
            self._state.movements.append({**sent, "id": movement_id})
            self._notify_stock(product_id, str(operation), units)
            return Answer(201, {"data": {"id": movement_id}})
        return _error(404, "RESOURCE_NOT_FOUND", "O recurso requisitado não foi encontrado")

    def _notify_stock(self, product_id: int, operation: str, units: Decimal) -> None:
        """Bling's ``stock.updated`` webhook to ``webhook_url`` (in the background, as Bling sends it), signed with
        the app's client secret; twice with the same ``eventId`` when ``webhookTwice`` (Bling retries)."""
        if not self.webhook_url:
            return
        total = float(self._state.stock.get((product_id, _DEPOSIT), Decimal(0)))
        event = {
            "eventId": str(uuid.uuid4()),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "version": "v1",
            "event": "stock.updated",
            "companyId": self.company_id,
            "data": {
                "produto": {"id": product_id},
                "deposito": {"id": _DEPOSIT, "saldoFisico": total, "saldoVirtual": total},
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
                return _invalid("contato.id", "Contato não encontrado")
            items = sent.get("itens") or []
            if not items:
                return _invalid("itens", "Informe ao menos um item")
            for item in items:
                product = item.get("produto")
                if product and int(product.get("id") or 0) not in self._state.products:
                    return _invalid("itens.produto.id", "Produto não encontrado")
            order_id = next(self._ids)
            orders[order_id] = {**sent, "id": order_id, "numero": len(orders) + 1}
            return Answer(201, {"data": {"id": order_id, "alertas": []}})
        if method == "POST" and len(rest) == 2 and rest[1] == "gerar-nfe" and rest[0].isdigit():
            order_id = int(rest[0])
            if order_id not in orders:
                return _error(404, "RESOURCE_NOT_FOUND", "Pedido não encontrado")
            if any(n.order_id == order_id for n in self._state.nfes.values()):
                return _invalid("pedido", "O pedido já possui nota fiscal")
            nfe_id = next(self._ids)
            self._state.nfes[nfe_id] = _Nfe(nfe_id, order_id)
            return Answer(201, {"data": {"id": nfe_id}})
        return _error(404, "RESOURCE_NOT_FOUND", "O recurso requisitado não foi encontrado")

    def _nfe(self, method: str, rest: list[str]) -> Answer:
        nfe = self._state.nfes.get(int(rest[0])) if rest[0].isdigit() else None
        if nfe is None:
            return _error(404, "RESOURCE_NOT_FOUND", "Nota fiscal não encontrada")
        if method == "POST" and rest[1:] == ["enviar"]:
            if nfe.status != _PENDING:
                return _invalid("situacao", "A nota não está pendente")
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
        return _error(404, "RESOURCE_NOT_FOUND", "O recurso requisitado não foi encontrado")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None
