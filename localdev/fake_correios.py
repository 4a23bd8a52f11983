"""A fake Correios contract API (CWS) on loopback, for tests and for ``make run`` without a contract.

Point ``settings.correios_api_url`` (and ``correios_sandbox_url``) at ``url``. It speaks Correios' wire format and
keeps its traps:

- Token: ``POST /token/v1/autentica/cartaopostagem`` with HTTP Basic ``user:access code`` and ``{"numero": <posting
  card>}`` → 201 ``{token, expiraEm, emissao, ambiente, cartaoPostagem: {numero, contrato, dr}}``; ``expiraEm`` is
  Brasília local time without an offset. Anything else → 401 ``{"msgs": [...]}``. **Tokens expire**: after
  ``token_lifetime_s`` (24 h unless told), or at once with ``expire_tokens()``; an expired token answers 401 on every
  call. There is no refresh token: authenticate again.
- ``GET /preco/v1/nacional/{product}?cepOrigem&cepDestino&psObjeto&tpObjeto&comprimento&largura&altura&vlDeclarado``
  → ``{coProduto, pcBase, pcFinal, …}`` with money as a string with a decimal comma (``"24,84"``); over 30 kg, a
  side over 100 cm or an unknown product → 400 ``{"msgs": [...]}`` (that service cannot carry it).
  ``GET /prazo/v1/nacional/{product}?cepOrigem&cepDestino`` → ``{coProduto, prazoEntrega, dataMaxima}``.
- ``POST /prepostagem/v1/prepostagens`` (remetente/destinatario with ``endereco.cep``, ``codigoServico``,
  ``pesoInformado``…) → ``{id, codigoObjeto, …}``; missing fields → 400 ``{"msgs": [...]}``. With ``loseNext`` the
  pre-posting is made and its answer lost (504).
- ``GET /prepostagem/v1/prepostagens?dataInicio&dataFim&status&page&size`` → ``{itens: [{id, codigoObjeto,
  observacao, …}], page: {number, size, totalElements, totalPages}}``: the contract's pre-postings made between the
  two dates (Brasília, ``YYYY-MM-DD``), oldest first.
- Label: ``POST /prepostagem/v1/prepostagens/rotulo/assincrono/pdf {idsPrePostagem, tipoRotulo, formatoRotulo…}``
  → ``{idRecibo}``; ``GET /prepostagem/v1/prepostagens/rotulo/download/assincrono/{idRecibo}`` → ``{nome, dados}``
  (the PDF, base64) once made: the first ``label_pending_polls`` downloads of a receipt answer 400 ``PPN-295`` (still
  being made).
- ``GET /srorastro/v1/objetos?codigosObjetos=…`` → ``{objetos: [...]}``: an object not posted is ``{codObjeto,
  mensagem: "SRO-020: …"}``; a posted one has event ``PO``, a delivered one ``BDE`` type ``01`` too.
- Throttling: 429 with ``Retry-After`` past ``per_minute`` requests a minute per token; ``throttleNext`` forces it.
- Control: ``POST /_config {"failRate", "failStatus", "failNext", "throttleNext", "latencyMs"}``; ``GET|DELETE
  /_received``; ``POST /_objects/<code>/post`` (handed over at the agency) and ``/_objects/<code>/deliver``.
"""

from __future__ import annotations

import base64
import itertools
import math
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from localdev.fake_base import Answer, FaultyFake, basic_credentials, json_handler

__all__ = ["PRODUCTS", "FakeCorreios"]

_BRASILIA = timezone(timedelta(hours=-3))
_MAX_GRAMS = 30_000
_MAX_SIDE_CM = 100
# product code → (name, base price, price per kg, days)
PRODUCTS = {
    "03298": ("PAC CONTRATO AG", Decimal("17.90"), Decimal("3.10"), 7),
    "03220": ("SEDEX CONTRATO AG", Decimal("27.40"), Decimal("4.80"), 2),
}


@dataclass
class _Contract:
    """One contract's posting card, its login and its objects."""

    user: str
    access_code: str
    posting_card: str
    contract: str
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeCorreios(FaultyFake):
    """A fake Correios CWS on 127.0.0.1 (a free port unless ``port`` is given)."""

    kind = "correios"

    def __init__(self, port: int = 0, *, seed: int | None = None, per_minute: int = 300) -> None:
        self._init_faults(seed, per_minute)
        self.token_lifetime_s = 24 * 3600
        self.authentications = 0
        self.received: list[dict[str, Any]] = []
        self.contracts: dict[str, _Contract] = {}  # posting card → contract
        self.label_pending_polls = 0
        self.receipts: dict[str, dict[str, Any]] = {}  # idRecibo → {ids, polls}
        self._tokens: dict[str, tuple[str, float]] = {}  # token → (posting card, expiry epoch)
        self._serial = itertools.count(10_000_001)
        self._lock = threading.RLock()
        self._listen(port, json_handler(self._answer), "fake-correios")

    # --- python helpers for tests and make run ----------------------------------------------------------------------

    def add_contract(self, user: str = "loja.correios") -> dict[str, str]:
        """A new contract with its posting card: the credentials BTRIX connects with (``user``, ``accessCode``,
        ``postingCard``, ``contract``)."""
        with self._lock:
            card = f"{secrets.randbelow(10**10):010d}"
            contract = _Contract(user, secrets.token_urlsafe(18), card, f"99{secrets.randbelow(10**8):08d}")
            self.contracts[card] = contract
            return {
                "user": user,
                "accessCode": contract.access_code,
                "postingCard": card,
                "contract": contract.contract,
            }

    def settings_env(self) -> dict[str, str]:
        """The environment that points BTRIX at this fake."""
        return {
            "BTRIX_CORREIOS_API_URL": self.url,
            "BTRIX_CORREIOS_SANDBOX_URL": self.url,
            "BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK": "true",
        }

    def expire_tokens(self) -> None:
        """Every token issued so far answers 401 from now on (as when ``expiraEm`` passes)."""
        with self._lock:
            self._tokens.clear()

    def objects(self) -> list[dict[str, Any]]:
        """Every pre-posted object of every contract."""
        with self._lock:
            return [dict(o) for contract in self.contracts.values() for o in contract.objects.values()]

    def post(self, code: str) -> dict[str, Any]:
        """The object was handed over at an agency: event ``PO``."""
        return self._event(code, "PO", "01", "Objeto postado")

    def deliver(self, code: str) -> dict[str, Any]:
        """The object was delivered: event ``BDE`` type ``01``."""
        return self._event(code, "BDE", "01", "Objeto entregue ao destinatário")

    def _event(self, code: str, kind: str, type_: str, description: str) -> dict[str, Any]:
        with self._lock:
            for contract in self.contracts.values():
                found = contract.objects.get(code)
                if found is not None:
                    event = {"codigo": kind, "tipo": type_, "descricao": description, "dtHrCriado": _local_now()}
                    found["eventos"].insert(0, event)
                    return dict(found)
        raise KeyError(code)

    # --- serving ----------------------------------------------------------------------------------------------------

    def _answer(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Answer:
        started = time.perf_counter()
        parts = urlsplit(target)
        path = parts.path.rstrip("/")
        query = parse_qs(parts.query)
        if path.startswith("/_"):
            return self._control(method, path, body)
        self._delay()
        with self._lock:
            invalid = Answer(400, {"msgs": ["Corpo da requisição inválido"]})
            sent, reply = self._serve_json(body, invalid, lambda sent: self._api(method, path, query, sent, headers))
            shown = {k: v if len(v) > 1 else v[0] for k, v in query.items()}
            self._record(method, path, reply, started, query=shown, body=sent if "autentica" not in path else None)
        return reply

    def _control(self, method: str, path: str, body: bytes) -> Answer:
        moves = ("objects", {"post": self.post, "deliver": self.deliver})
        return self._shared_control(method, path, body, moves) or Answer(404, {"msgs": [f"no control {path}"]})

    def _authenticate(self, sent: Any, headers: dict[str, str]) -> Answer:
        refused = Answer(401, {"msgs": ["Usuário ou código de acesso inválido."]})
        login = basic_credentials(headers)
        if login is None:
            return refused
        card = str((sent or {}).get("numero") or "") if isinstance(sent, dict) else ""
        contract = self.contracts.get(card)
        if contract is None or (contract.user, contract.access_code) != login:
            return refused
        if self._failing():
            return Answer(self.fail_status, {"msgs": ["Serviço indisponível"]})
        self.authentications += 1
        token = "eyJ" + secrets.token_urlsafe(32)
        expires = time.time() + self.token_lifetime_s
        self._tokens[token] = (card, expires)
        issued = datetime.now(UTC).astimezone(_BRASILIA).replace(tzinfo=None, microsecond=0)
        until = datetime.fromtimestamp(expires, UTC).astimezone(_BRASILIA).replace(tzinfo=None, microsecond=0)
        return Answer(
            201,
            {
                "ambiente": "PRODUCAO",
                "id": login[0],
                "perfil": "PJ",
                "cartaoPostagem": {"numero": card, "contrato": contract.contract, "dr": 72},
                "emissao": issued.isoformat(),
                "expiraEm": until.isoformat(),
                "token": token,
            },
        )

    def _api(self, method: str, path: str, query: dict[str, list[str]], sent: Any, headers: dict[str, str]) -> Answer:
        if path == "/token/v1/autentica/cartaopostagem" and method == "POST":
            return self._authenticate(sent, headers)
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        held = self._tokens.get(token)
        if held is None or held[1] <= time.time():
            return Answer(401, {"msgs": ["Token inválido ou expirado."]})
        contract = self.contracts[held[0]]
        if self._throttled(token):
            return Answer(429, {"msgs": ["Limite de requisições excedido."]}, (("Retry-After", "1"),))
        if self._failing():
            return Answer(self.fail_status, {"msgs": ["Serviço indisponível"]})
        one = {name: values[0] for name, values in query.items()}
        priced = re.fullmatch(r"/(preco|prazo)/v1/nacional/([0-9]{5})", path)
        if priced and method == "GET":
            return self._price(priced.group(2), one) if priced.group(1) == "preco" else self._days(priced.group(2), one)
        if path == "/prepostagem/v1/prepostagens" and method == "POST":
            return self._lost(self._preregister(contract, sent if isinstance(sent, dict) else {}))
        if path == "/prepostagem/v1/prepostagens" and method == "GET":
            return self._list(contract, one)
        if path == "/prepostagem/v1/prepostagens/rotulo/assincrono/pdf" and method == "POST":
            return self._request_label(contract, sent if isinstance(sent, dict) else {})
        receipt = re.fullmatch(r"/prepostagem/v1/prepostagens/rotulo/download/assincrono/([^/]+)", path)
        if receipt and method == "GET":
            return self._download_label(contract, receipt.group(1))
        if path == "/srorastro/v1/objetos" and method == "GET":
            return self._track(query.get("codigosObjetos", []))
        return Answer(404, {"msgs": [f"Recurso não encontrado: {method} {path}"]})

    def _price(self, product: str, query: dict[str, str]) -> Answer:
        problems = [f"{name} é obrigatório" for name in ("cepOrigem", "cepDestino", "psObjeto") if not query.get(name)]
        problems += [
            f"{name} inválido" for name in ("cepOrigem", "cepDestino") if query.get(name) and not _cep(query[name])
        ]
        if problems:
            return Answer(400, {"msgs": problems})
        if product not in PRODUCTS:
            return Answer(400, {"msgs": [f"PRC-101: Produto {product} não encontrado no contrato"]})
        grams = int(query["psObjeto"])
        sides = [int(query.get(n) or 0) for n in ("comprimento", "largura", "altura")]
        if grams > _MAX_GRAMS:
            return Answer(400, {"msgs": [f"PRC-113: Peso excede o limite de {_MAX_GRAMS} g para o produto {product}"]})
        if max(sides) > _MAX_SIDE_CM:
            return Answer(400, {"msgs": ["PRC-114: Dimensões excedem o limite do produto"]})
        _, base, per_kg, _ = PRODUCTS[product]
        distance = abs(int(query["cepOrigem"][:2]) - int(query["cepDestino"][:2]))
        declared = Decimal(query.get("vlDeclarado") or "0")
        amount = base + per_kg * Decimal(grams) / 1000 + Decimal(distance) * Decimal("0.30") + declared / 100
        shown = f"{amount.quantize(Decimal('0.01'))}".replace(".", ",")
        return Answer(200, {"coProduto": product, "pcBase": f"{base}".replace(".", ","), "pcFinal": shown})

    def _days(self, product: str, query: dict[str, str]) -> Answer:
        if not _cep(query.get("cepOrigem")) or not _cep(query.get("cepDestino")):
            return Answer(400, {"msgs": ["cepOrigem e cepDestino são obrigatórios"]})
        if product not in PRODUCTS:
            return Answer(400, {"msgs": [f"PRZ-101: Produto {product} não encontrado"]})
        distance = abs(int(query["cepOrigem"][:2]) - int(query["cepDestino"][:2]))
        days = PRODUCTS[product][3] + distance // 25
        latest = (datetime.now(_BRASILIA) + timedelta(days=days)).replace(tzinfo=None, microsecond=0)
        return Answer(200, {"coProduto": product, "prazoEntrega": days, "dataMaxima": latest.isoformat()})

    def _preregister(self, contract: _Contract, sent: dict[str, Any]) -> Answer:
        problems = []
        for side in ("remetente", "destinatario"):
            given = sent.get(side)
            who: dict[str, Any] = given if isinstance(given, dict) else {}
            where = who.get("endereco")
            address: dict[str, Any] = where if isinstance(where, dict) else {}
            if not who.get("nome"):
                problems.append(f"{side}.nome é obrigatório")
            for name in ("cep", "logradouro", "cidade", "uf"):
                if not address.get(name):
                    problems.append(f"{side}.endereco.{name} é obrigatório")
        if sent.get("codigoServico") not in PRODUCTS:
            problems.append("codigoServico inválido")
        if not str(sent.get("pesoInformado") or "").isdigit():
            problems.append("pesoInformado é obrigatório")
        if problems:
            return Answer(400, {"msgs": problems})
        code = f"{'SX' if sent['codigoServico'] == '03220' else 'PC'}{next(self._serial):09d}BR"[-13:]
        found = {
            "id": str(uuid.uuid4()).replace("-", "")[:24],
            "codigoObjeto": code,
            "codigoServico": sent["codigoServico"],
            "destinatario": sent["destinatario"],
            "observacao": sent.get("observacao"),
            "pesoInformado": sent["pesoInformado"],
            "statusAtual": 1,
            "dataHora": _local_now(),
            "eventos": [],
        }
        contract.objects[code] = found
        return Answer(200, {k: v for k, v in found.items() if k != "eventos"})

    def _list(self, contract: _Contract, query: dict[str, str]) -> Answer:
        since, until = query.get("dataInicio") or "", query.get("dataFim") or "9999-12-31"
        try:
            page, size = int(query.get("page") or 0), min(int(query.get("size") or 50), 100)
        except ValueError:
            return Answer(400, {"msgs": ["page e size devem ser números"]})
        made = [o for o in contract.objects.values() if since <= o["dataHora"][:10] <= until]
        shown = [{k: v for k, v in o.items() if k != "eventos"} for o in made[page * size : (page + 1) * size]]
        pages = {"number": page, "size": size, "totalElements": len(made), "totalPages": math.ceil(len(made) / size)}
        return Answer(200, {"itens": shown, "page": pages})

    def _request_label(self, contract: _Contract, sent: dict[str, Any]) -> Answer:
        ids = sent.get("idsPrePostagem")
        known = {o["id"] for o in contract.objects.values()}
        if not isinstance(ids, list) or not ids or any(i not in known for i in ids):
            return Answer(400, {"msgs": ["PPN-201: idsPrePostagem inválidos para o cartão de postagem"]})
        receipt = uuid.uuid4().hex
        self.receipts[receipt] = {"ids": list(ids), "card": contract.posting_card, "polls": 0}
        return Answer(200, {"idRecibo": receipt})

    def _download_label(self, contract: _Contract, receipt: str) -> Answer:
        asked = self.receipts.get(receipt)
        if asked is None or asked["card"] != contract.posting_card:
            return Answer(404, {"msgs": [f"PPN-294: Recibo {receipt} não encontrado"]})
        asked["polls"] += 1
        if asked["polls"] <= self.label_pending_polls:
            return Answer(400, {"msgs": ["PPN-295: O rótulo ainda está em processamento, tente novamente"]})
        codes = [o["codigoObjeto"] for o in contract.objects.values() if o["id"] in asked["ids"]]
        pdf = label_pdf(codes)
        return Answer(200, {"nome": f"rotulo_{receipt}.pdf", "dados": base64.b64encode(pdf).decode()})

    def _track(self, codes: list[str]) -> Answer:
        known = {code: o for contract in self.contracts.values() for code, o in contract.objects.items()}
        objects: list[dict[str, Any]] = []
        for code in codes:
            found = known.get(code)
            if found is None or not found["eventos"]:
                objects.append({"codObjeto": code, "mensagem": "SRO-020: Objeto não encontrado na base de dados."})
                continue
            objects.append({"codObjeto": code, "eventos": list(found["eventos"]), "tipoPostal": {"sigla": code[:2]}})
        return Answer(200, {"versao": "1.0.0", "quantidade": len(objects), "objetos": objects})


def label_pdf(codes: list[str]) -> bytes:
    """A one-page PDF naming the objects: what the fake prints as their label."""
    text = " ".join(codes).encode()
    stream = b"BT /F1 18 Tf 40 400 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body, offsets = b"%PDF-1.4\n", []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += str(number).encode() + b" 0 obj\n" + content + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 " + str(len(objects) + 1).encode() + b"\n0000000000 65535 f \n"
    body += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    body += b"trailer\n<< /Size " + str(len(objects) + 1).encode() + b" /Root 1 0 R >>\nstartxref\n"
    return body + str(xref).encode() + b"\n%%EOF\n"


def _cep(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[0-9]{8}", value) is not None


def _local_now() -> str:
    return datetime.now(_BRASILIA).replace(tzinfo=None, microsecond=0).isoformat()
