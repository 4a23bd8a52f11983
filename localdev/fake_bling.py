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

import itertools
import json
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from localdev.fake_base import Answer, basic_credentials, json_handler, stock_count, window_full
from localdev.fake_bling_records import DEPOSIT, BlingRecords, State, error, invalid

__all__ = ["FakeBling"]

ACCESS_TOKEN_LIFETIME_S = 21600
_API = "/Api/v3"


@dataclass
class _Token:
    expires_at: float
    expired: bool = False


class FakeBling(BlingRecords):
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
        self._state = State()
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
            return self._state.stock.get((product_id, DEPOSIT), Decimal(0))

    def set_stock(self, code: str, units: int) -> None:
        """A person counted the product in Bling (its webhook tells the app)."""
        with self._lock:
            product_id = next(i for i, p in self._state.products.items() if p["codigo"] == code)
            self._state.stock[(product_id, DEPOSIT)] = Decimal(units)
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
                reply = error(404, "RESOURCE_NOT_FOUND", f"Not found: {path}")
            entry["status"] = reply.status
            self.received.append(entry)
        return reply

    # --- OAuth ------------------------------------------------------------------------------------------------------

    def _consent(self, query: dict[str, str]) -> Answer:
        if query.get("response_type") != "code" or not query.get("client_id"):
            return error(400, "invalid_request", "response_type=code and client_id are required")
        if self.client_id is not None and query["client_id"] != self.client_id:
            return error(400, "invalid_client", "Aplicativo não encontrado")
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
        client_id, client_secret = basic_credentials(headers) or ("", "")
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
            return error(401, "invalid_client", "Invalid client credentials")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            if form.get("code") not in self._codes:
                return error(400, "invalid_grant", "Authorization code inválido ou já utilizado")
            self._codes.discard(form["code"])
            return Answer(200, self._grant())
        if grant_type == "refresh_token":
            self._refreshes += 1
            used = form.get("refresh_token", "")
            if used not in self._refresh_tokens or self.invalid_grant:
                return error(400, "invalid_grant", "Invalid refresh token")
            self._refresh_tokens.discard(used)  # rotation: the one used is dead from now on
            return Answer(200, self._grant())
        return error(400, "unsupported_grant_type", "Invalid grant_type")

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
            return error(401, "invalid_token", "invalid_token")
        if self._throttled():
            return error(429, "TOO_MANY_REQUESTS", "Limite de requisições atingido")
        if self._failing():
            return error(self.fail_status, "SERVER_ERROR", "Erro interno")
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
            deposit = {"id": DEPOSIT, "descricao": "Geral", "situacao": 1, "padrao": True, "desconsiderarSaldo": False}
            return Answer(200, {"data": [deposit]})
        if segments[0] == "produtos":
            return self._products(method, segments, query, sent)
        if segments[0] == "estoques":
            return self._stock(method, segments, query, sent)
        if route == ("POST", "contatos", 1):
            if not isinstance(sent, dict) or not sent.get("nome"):
                return invalid("nome", "O nome do contato é obrigatório")
            contact_id = next(self._ids)
            self._state.contacts[contact_id] = {**sent, "id": contact_id}
            return Answer(201, {"data": {"id": contact_id}})
        if method == "PUT" and segments[0] == "contatos" and len(segments) == 2:
            known = int(segments[1]) if segments[1].isdigit() else 0
            if known not in self._state.contacts:
                return error(404, "RESOURCE_NOT_FOUND", "O contato não foi encontrado")
            if not isinstance(sent, dict) or not sent.get("nome"):
                return invalid("nome", "O nome do contato é obrigatório")
            self._state.contacts[known] = {**sent, "id": known}  # a PUT replaces the contact
            return Answer(204, None)
        if segments[0] == "pedidos" and len(segments) >= 2 and segments[1] == "vendas":
            return self._orders(method, segments[2:], query, sent)
        if segments[0] == "nfe" and len(segments) >= 2:
            return self._nfe(method, segments[1:])
        return error(404, "RESOURCE_NOT_FOUND", "O recurso requisitado não foi encontrado")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None
