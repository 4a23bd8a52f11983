"""A fake of the providers' "who am I" endpoints on loopback, for the integrations' connection test.

Each provider accepts exactly the credentials in ``GOOD`` and answers anything else as that provider refuses
credentials (401). Requests are recorded and readable at ``GET /_received``.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TWILIO_SID = "AC" + "0123456789abcdef" * 2
GOOD: dict[str, dict[str, str]] = {
    "bitrix24": {
        "domain": "acme.bitrix24.com",
        "clientId": "local.app.1",
        "clientSecret": "client-secret-b24",
        "accessToken": "b24-access-token-good",
        "refreshToken": "b24-refresh-token",
    },
    "billy": {"accessToken": "billy-access-token-good-0001"},
    "google_calendar": {"clientId": "gc-client", "clientSecret": "gc-secret", "refreshToken": "gc-refresh-good"},
    "stripe": {"secretKey": "sk_test_51GoodKey0123456789"},
    "mercadopago": {"accessToken": "APP_USR-good-0123456789"},
    "twilio": {"accountSid": TWILIO_SID, "authToken": "fedcba9876543210" * 2, "smsFrom": "+15550001111"},
    "meta": {"phoneNumberId": "1029384756", "accessToken": "EAAG-meta-token-good-0123"},
    "melhorenvio": {
        "clientId": "me-client",
        "clientSecret": "me-client-secret",
        "refreshToken": "me-refresh-good",
        "accessToken": "me-access-good",
        "email": "tech@loja.example",
    },
    "pagarme": {"secretKey": "sk_test_GoodPagarmeKey0123", "webhookSecret": "pagarme-hook-password-01"},
    "ifood": {"clientId": "ifood-app-1", "clientSecret": "ifood-secret-good", "merchantId": "a1b2c3d4-0001"},
    "ga4": {"measurementId": "G-GOOD1234", "apiSecret": "ga4-api-secret-good"},
    "meta_capi": {"pixelId": "5550001111", "accessToken": "EAAB-pixel-token-good-0123"},
    "rappi": {
        "clientId": "rappi-app-1",
        "clientSecret": "rappi-secret-good",
        "storeId": "900123",
        "webhookSecret": "rappi-webhook-secret-0123456789",
    },
    "bling": {"refreshToken": "bling-refresh-token-good-0001"},
    "tiny": {"apiToken": "tiny-api-token-good-0123456789"},
    "correios": {
        "user": "loja.correios",
        "accessCode": "correios-access-code-good",
        "postingCard": "0067599079",
        "contract": "9912345678",
    },
    "jadlog": {"token": "jadlog-bearer-token-good-01", "cnpj": "12345678000199", "account": "004321"},
}
ACCOUNTS = {
    "bitrix24": "Ana Admin on acme.bitrix24.com",
    "billy": "Hygge ApS",
    "google_calendar": "Shop calendar",
    "stripe": "Bike Shop (acct_1Good)",
    "mercadopago": "RESTAURANTE (123456)",
    "twilio": "BTRIX tenant (active)",
    "meta": "Pizzaria Boa (+55 11 4000-0000)",
    "melhorenvio": "loja@example.com",
    "pagarme": "Pagar.me account (test key)",
    "ifood": "Pizzaria Boa - Centro",
    "ga4": "G-GOOD1234 (sample event valid; the API secret is not checked by Google's validation)",
    "meta_capi": "Pizzaria Pixel (5550001111)",
    "rappi": "store 900123",
    "bling": "Empório Bling Ltda",
    "tiny": "Mercearia Tiny Ltda",
    "correios": "contract 9912345678, posting card 0067599079",
    "jadlog": "account 004321 (CNPJ 12345678000199)",
}


class FakeProviderApi:
    """The server; ``url`` is its base, ``received`` what it was sent."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                fake.answer(self, "GET")

            def do_POST(self) -> None:
                fake.answer(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeProviderApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, request: BaseHTTPRequestHandler, method: str) -> None:
        """Route one request to the provider it imitates."""
        parts = urlsplit(request.path)
        body = request.rfile.read(int(request.headers.get("content-length") or 0)).decode()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if headers.get("content-type", "").startswith("application/json"):
            # Bitrix24 takes its REST parameters (and ``auth``) as a form or as a JSON object.
            form = {k: str(v) for k, v in (json.loads(body or "{}") or {}).items()}
        else:
            form = {k: v[0] for k, v in parse_qs(body).items()}
        if parts.path == "/_received":
            self._send(request, 200, {"received": self.received})
            return
        self.received.append({"method": method, "path": parts.path, "headers": headers, "form": form})
        status, answer = self._route(method, parts.path, parse_qs(parts.query), headers, form)
        self._send(request, status, answer)

    @staticmethod
    def _bearer(headers: dict[str, str]) -> str:
        return headers.get("authorization", "").removeprefix("Bearer ")

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], form: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        refused = (401, {"error": "invalid credentials"})
        if path == f"/bitrix/{GOOD['bitrix24']['domain']}/rest/profile" and method == "POST":
            if form.get("auth") != GOOD["bitrix24"]["accessToken"]:
                return 401, {"error": "invalid_token", "error_description": "The access token provided is invalid."}
            return 200, {"result": {"ID": "1", "ADMIN": True, "NAME": "Ana", "LAST_NAME": "Admin"}}
        if path == "/billy/organization":
            ok = headers.get("x-access-token") == GOOD["billy"]["accessToken"]
            return (200, {"organization": {"id": "org1", "name": "Hygge ApS"}}) if ok else refused
        if path == "/google/token" and method == "POST":
            if form.get("refresh_token") != GOOD["google_calendar"]["refreshToken"]:
                return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            return 200, {"access_token": "ya29.fresh", "expires_in": 3599, "token_type": "Bearer"}
        if path == "/google/calendar/calendars/primary":
            ok = self._bearer(headers) == "ya29.fresh"
            return (200, {"id": "primary", "summary": "Shop calendar"}) if ok else refused
        if path == "/stripe/v1/account":
            ok = self._bearer(headers) == GOOD["stripe"]["secretKey"]
            return (200, {"id": "acct_1Good", "business_profile": {"name": "Bike Shop"}}) if ok else refused
        if path == "/mp/users/me":
            ok = self._bearer(headers) == GOOD["mercadopago"]["accessToken"]
            return (200, {"id": 123456, "nickname": "RESTAURANTE"}) if ok else refused
        if path == f"/twilio/2010-04-01/Accounts/{TWILIO_SID}.json":
            expected = base64.b64encode(f"{TWILIO_SID}:{GOOD['twilio']['authToken']}".encode()).decode()
            ok = headers.get("authorization") == f"Basic {expected}"
            return (200, {"sid": TWILIO_SID, "friendly_name": "BTRIX tenant", "status": "active"}) if ok else refused
        if path == f"/meta/v21.0/{GOOD['meta']['phoneNumberId']}":
            ok = self._bearer(headers) == GOOD["meta"]["accessToken"] and query.get("fields") is not None
            number = {"id": GOOD["meta"]["phoneNumberId"], "verified_name": "Pizzaria Boa"}
            return (200, {**number, "display_phone_number": "+55 11 4000-0000"}) if ok else refused
        if path == "/melhorenvio/api/v2/me":
            ok = self._bearer(headers) == GOOD["melhorenvio"]["accessToken"]
            return (200, {"id": "me-1", "firstname": "Loja", "email": "loja@example.com"}) if ok else refused
        if path == "/pagarme/orders" and method == "GET":
            expected = base64.b64encode(f"{GOOD['pagarme']['secretKey']}:".encode()).decode()
            ok = headers.get("authorization") == f"Basic {expected}"
            return (200, {"data": [], "paging": {"total": 0}}) if ok else refused
        if path == "/ifood/authentication/v1.0/oauth/token" and method == "POST":
            good = GOOD["ifood"]
            if (form.get("clientId"), form.get("clientSecret")) != (good["clientId"], good["clientSecret"]):
                return refused
            return 200, {"accessToken": "ifood-token-fresh", "type": "bearer", "expiresIn": 21600}
        if path == f"/ifood/merchant/v1.0/merchants/{GOOD['ifood']['merchantId']}":
            ok = self._bearer(headers) == "ifood-token-fresh"
            return (200, {"id": GOOD["ifood"]["merchantId"], "name": "Pizzaria Boa - Centro"}) if ok else refused
        if path == "/ga4/debug/mp/collect" and method == "POST":
            # Google's validation server never checks the API secret: only the events' shape.
            return 200, {"validationMessages": []}
        if path == f"/meta/v21.0/{GOOD['meta_capi']['pixelId']}":
            ok = self._bearer(headers) == GOOD["meta_capi"]["accessToken"]
            return (200, {"id": GOOD["meta_capi"]["pixelId"], "name": "Pizzaria Pixel"}) if ok else refused
        if path == "/rappi/restaurants/auth/v1/token/login/integrations" and method == "POST":
            good = GOOD["rappi"]
            if (form.get("client_id"), form.get("client_secret")) != (good["clientId"], good["clientSecret"]):
                return refused
            return 200, {"access_token": "rappi-token-fresh", "token_type": "Bearer", "expires_in": 604800}
        if path == "/bling/oauth/token" and method == "POST":
            # Bling rotates the refresh token: the good one is answered with the next one.
            if not headers.get("authorization", "").startswith("Basic "):
                return 401, {"error": {"type": "invalid_client", "message": "invalid_client"}}
            if form.get("refresh_token") != GOOD["bling"]["refreshToken"]:
                return 400, {"error": {"type": "invalid_grant", "message": "Invalid refresh token"}}
            grant = {"access_token": "bling-access-fresh", "expires_in": 21600, "refresh_token": "bling-refresh-next"}
            return 200, grant
        if path == "/bling/api/empresas/me/dados-basicos":
            ok = self._bearer(headers) == "bling-access-fresh"
            return (200, {"data": {"nome": ACCOUNTS["bling"]}}) if ok else refused
        if path == "/tiny/info.php" and method == "POST":
            # Tiny answers HTTP 200 whatever happened: a refused token is an error code in the body.
            if form.get("token") != GOOD["tiny"]["apiToken"]:
                return 200, {"retorno": {"status": "Erro", "codigo_erro": 2, "erros": [{"erro": "Token inválido"}]}}
            return 200, {"retorno": {"status": "OK", "conta": {"razao_social": ACCOUNTS["tiny"]}}}
        if path == "/correios/token/v1/autentica/cartaopostagem" and method == "POST":
            good = GOOD["correios"]
            basic = base64.b64encode(f"{good['user']}:{good['accessCode']}".encode()).decode()
            if headers.get("authorization") != f"Basic {basic}" or form.get("numero") != good["postingCard"]:
                return 401, {"msgs": ["Usuário ou código de acesso inválido."]}
            return 201, {"token": "correios-token-fresh", "expiraEm": "2099-01-01T00:00:00"}
        if path == "/jadlog/tracking/consultar" and method == "POST":
            if self._bearer(headers) != GOOD["jadlog"]["token"]:
                return refused
            return 200, {"consulta": [{"shipmentId": "0", "error": {"id": -1, "descricao": "Nao localizado."}}]}
        return 404, {"error": f"no fake for {method} {path}"}

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(raw)))
        request.end_headers()
        request.wfile.write(raw)

    def settings_env(self) -> dict[str, str]:
        """The settings that point every adapter at this server."""
        return {
            "BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK": "true",  # this fake speaks plain http on 127.0.0.1
            "BTRIX_BITRIX24_REST_URL": f"{self.url}/bitrix/{{domain}}/rest",
            "BTRIX_BILLY_API_URL": f"{self.url}/billy",
            "BTRIX_GOOGLE_OAUTH_TOKEN_URL": f"{self.url}/google/token",
            "BTRIX_GOOGLE_CALENDAR_API_URL": f"{self.url}/google/calendar",
            "BTRIX_STRIPE_API_URL": f"{self.url}/stripe",
            "BTRIX_MERCADOPAGO_API_URL": f"{self.url}/mp",
            "BTRIX_TWILIO_BASE_URL": f"{self.url}/twilio",
            "BTRIX_META_GRAPH_URL": f"{self.url}/meta",
            "BTRIX_MELHORENVIO_API_URL": f"{self.url}/melhorenvio",
            "BTRIX_PAGARME_API_URL": f"{self.url}/pagarme",
            "BTRIX_IFOOD_API_URL": f"{self.url}/ifood",
            "BTRIX_GA4_API_URL": f"{self.url}/ga4",
            "BTRIX_RAPPI_API_URL": f"{self.url}/rappi",
            "BTRIX_BLING_API_URL": f"{self.url}/bling/api",
            "BTRIX_BLING_OAUTH_TOKEN_URL": f"{self.url}/bling/oauth/token",
            "BTRIX_TINY_API_URL": f"{self.url}/tiny",
            "BTRIX_CORREIOS_API_URL": f"{self.url}/correios",
            "BTRIX_JADLOG_API_URL": f"{self.url}/jadlog",
        }
