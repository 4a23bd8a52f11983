"""Correios' contract API (CWS, ``https://api.correios.com.br``; homologation ``https://apihom.correios.com.br``):
the token, national price and delivery time, the pre-posting of an object (its label) with its PDF, and tracking.

Wire facts (Correios' CWS docs and PROVIDERS.md "Brazilian commerce integrations"; those not confirmed there are
marked):

- Token: ``POST /token/v1/autentica/cartaopostagem`` with HTTP Basic ``user:access code`` (the code generated in CWS)
  and ``{"numero": <posting card>}`` → 201 ``{token, expiraEm, emissao, ambiente, cartaoPostagem: {numero, contrato,
  dr}}``. ``expiraEm`` is a local date-time without an offset (Brasília, UTC-3). There is no refresh token: a new
  authentication is the refresh. A user or code Correios refuses (401/403) is ``fatal``: the integration is
  disconnected. A token past its expiry answers 401 on every API call (``expired``: authenticate again, once).
- Price: ``GET /preco/v1/nacional/{product}?cepOrigem&cepDestino&psObjeto&tpObjeto&comprimento&largura&altura&
  vlDeclarado&nuContrato`` (grams, centimetres; ``tpObjeto`` 2 = box) → ``{coProduto, pcBase, pcFinal, …}`` with
  money as a string with a decimal **comma** (``"24,84"``). Delivery time: ``GET /prazo/v1/nacional/{product}?
  cepOrigem&cepDestino`` → ``{coProduto, prazoEntrega, dataMaxima, …}`` (working days). A product that cannot carry
  the object (too heavy, too big, no service between the CEPs) answers 400 ``{"msgs": [..]}``: that service is
  unavailable, the others are not.
- Pre-posting: ``POST /prepostagem/v1/prepostagens`` (sender, recipient, product code, weight and box, content
  declaration) → ``{id, codigoObjeto, …}``: ``codigoObjeto`` is the tracking code from the start; the object is
  billed when it is posted. The content-declaration fields' names are not confirmed in the public docs. Our order's
  reference goes in ``observacao``.
- Search (a pre-posting whose answer was lost): ``GET /prepostagem/v1/prepostagens?dataInicio&dataFim&status&page&
  size`` → ``{itens: [{id, codigoObjeto, observacao, …}], page: {totalPages, …}}``; the pre-postings of the day the
  purchase started are read page by page and the one whose ``observacao`` is our reference is adopted (the filter
  names and the page shape are not confirmed in the public docs; the match is ours, whatever Correios filters).
- Label: ``POST /prepostagem/v1/prepostagens/rotulo/assincrono/pdf {idsPrePostagem, numeroCartaoPostagem,
  tipoRotulo: "P", formatoRotulo: "ET", imprimeRemetente: "S", layoutImpressao: "PADRAO"}`` → ``{idRecibo}``; then
  ``GET /prepostagem/v1/prepostagens/rotulo/download/assincrono/{idRecibo}`` → ``{nome, dados}`` (the PDF in
  base64) once Correios made it; before that a 4xx whose message says it is still being processed ("em
  processamento"; its code is not confirmed).
- Tracking: ``GET /srorastro/v1/objetos?codigosObjetos=…&resultado=U`` → ``{objetos: [{codObjeto, eventos: [{codigo,
  tipo, descricao, dtHrCriado}]} | {codObjeto, mensagem}]}``: an object not posted yet is a ``mensagem`` ("SRO-020:
  objeto não encontrado"); ``PO`` is posted; ``BDE``/``BDI``/``BDR`` of type ``01`` is delivered.
- Throttling is 429 (waited out a little by ``http.send_with_backoff``, then ``retryable``); 5xx ``retryable``.

One responsibility: Correios' wire format (its token and the API calls shipping makes).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from chalicelib.core.config import get_settings
from chalicelib.integrations.correios.credentials import CorreiosCredentials
from chalicelib.integrations.http import (
    Failure,
    ProviderError,
    TokenGrant,
    check_provider_url,
    json_object,
    send_with_backoff,
)
from chalicelib.integrations.parcels import LabelOrder, Parcel, ServiceQuote, ShippingAddress, Tracking, parcel

if TYPE_CHECKING:
    import httpx

__all__ = [
    "SERVICE_NAMES",
    "authenticate",
    "delivery_days",
    "download_label",
    "find_preposting",
    "preregister",
    "price",
    "quote",
    "request_label",
    "track",
    "whoami",
]

_WHAT = "Correios"
_BRASILIA = timezone(timedelta(hours=-3))
_DELIVERED = frozenset({"BDE", "BDI", "BDR"})
_TRACK_BATCH = 50
_SEARCH_PAGE = 50
_SEARCH_PAGES = 20
_PROCESSING = ("processamento", "PPN-295")
# The contract products most shops quote (their names on the quote); another code is shown as itself.
SERVICE_NAMES = {
    "03298": "PAC",
    "03220": "SEDEX",
    "03140": "SEDEX 12",
    "03158": "SEDEX 10",
    "04227": "Mini Envios",
}


def _base(credentials: CorreiosCredentials) -> str:
    settings = get_settings()
    return (settings.correios_sandbox_url if credentials.sandbox else settings.correios_api_url).rstrip("/")


def _messages(response: httpx.Response | None) -> str:
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    msgs = body.get("msgs") if isinstance(body, dict) else None
    if isinstance(msgs, list) and msgs:
        return "; ".join(str(m) for m in msgs)[:400]
    return ""


def _call(
    credentials: CorreiosCredentials,
    token: str,
    method: str,
    path: str,
    *,
    params: Mapping[str, str | list[str]] | None = None,
    body: Any = None,
) -> dict[str, Any]:
    url = check_provider_url(f"{_base(credentials)}{path}")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    try:
        response = send_with_backoff(
            _WHAT, lambda http: http.request(method, url, params=params, json=body, headers=headers)
        )
    except ProviderError as exc:
        if exc.status == 401:
            raise ProviderError(f"{_WHAT} refused the token", failure=Failure.EXPIRED, status=401) from exc
        if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (403, 429):
            named = _messages(exc.response)
            detail = f"{_WHAT} refused the request ({exc.status}{': ' + named if named else ''})"
            raise ProviderError(detail, failure=Failure.REJECTED, status=exc.status) from exc
        raise
    return json_object(_WHAT, response)


def _expiry(value: object) -> datetime:
    if not isinstance(value, str):
        raise ProviderError(f"{_WHAT} token answer lacks expiraEm", failure=Failure.REJECTED)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ProviderError(f"{_WHAT} token answer has a bad expiraEm", failure=Failure.REJECTED) from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=_BRASILIA)).astimezone(UTC)


def authenticate(credentials: CorreiosCredentials) -> TokenGrant:
    """A new token for the posting card (``POST /token/v1/autentica/cartaopostagem``), valid until ``expiraEm``."""
    url = check_provider_url(f"{_base(credentials)}/token/v1/autentica/cartaopostagem")
    basic = base64.b64encode(f"{credentials.user}:{credentials.access_code.get_secret_value()}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
    body = {"numero": credentials.posting_card}
    try:
        response = send_with_backoff(f"{_WHAT} token", lambda http: http.post(url, json=body, headers=headers))
    except ProviderError as exc:
        if exc.status in (400, 401, 403):
            named = _messages(exc.response)
            detail = f"{_WHAT} refused the user, access code or posting card{': ' + named if named else ''}"
            raise ProviderError(detail, failure=Failure.FATAL, status=exc.status) from exc
        raise
    answer = json_object(f"{_WHAT} token", response)
    token = answer.get("token")
    if not isinstance(token, str) or not token:
        raise ProviderError(f"{_WHAT} token answer lacks a token", failure=Failure.REJECTED)
    return TokenGrant(token, _expiry(answer.get("expiraEm")))


def _money(value: object) -> Decimal | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    try:
        return Decimal(value.replace(".", "").replace(",", ".") if "," in value else value)
    except InvalidOperation:
        return None


def price(
    credentials: CorreiosCredentials, token: str, product: str, origin: str, destination: str, box: Parcel
) -> Decimal:
    """The contract price of ``product`` for the box between two CEPs (``GET /preco/v1/nacional/{product}``)."""
    params = {
        "cepOrigem": origin,
        "cepDestino": destination,
        "psObjeto": str(box.weight_grams),
        "tpObjeto": "2",
        "comprimento": str(box.length_cm),
        "largura": str(box.width_cm),
        "altura": str(box.height_cm),
        "vlDeclarado": f"{box.declared_value:.2f}",
        "nuContrato": credentials.contract,
    }
    answer = _call(credentials, token, "GET", f"/preco/v1/nacional/{product}", params=params)
    found = _money(answer.get("pcFinal"))
    if found is None:
        raise ProviderError(f"{_WHAT} answered a price without pcFinal", failure=Failure.REJECTED)
    return found


def delivery_days(credentials: CorreiosCredentials, token: str, product: str, origin: str, destination: str) -> int:
    """Working days ``product`` takes between two CEPs (``GET /prazo/v1/nacional/{product}``)."""
    params = {"cepOrigem": origin, "cepDestino": destination}
    answer = _call(credentials, token, "GET", f"/prazo/v1/nacional/{product}", params=params)
    days = answer.get("prazoEntrega")
    if not isinstance(days, int) or isinstance(days, bool):
        raise ProviderError(f"{_WHAT} answered a delivery time without prazoEntrega", failure=Failure.REJECTED)
    return days


def quote(
    credentials: CorreiosCredentials, token: str, origin: str, destination: str, box: Parcel
) -> list[ServiceQuote]:
    """Each contract service's price and days for the box: a service Correios refuses for this object is listed
    with its reason; an outage or a refused token fails the whole quote."""
    quotes = []
    for product in credentials.services:
        name = SERVICE_NAMES.get(product, product)
        try:
            found = price(credentials, token, product, origin, destination, box)
            days = delivery_days(credentials, token, product, origin, destination)
        except ProviderError as exc:
            if exc.failure is not Failure.REJECTED:
                raise
            quotes.append(ServiceQuote(product, name, "Correios", None, None, exc.detail))
            continue
        quotes.append(ServiceQuote(product, name, "Correios", found, days, None))
    return quotes


def _party(address: ShippingAddress) -> dict[str, Any]:
    phone = "".join(ch for ch in address.phone or "" if ch.isdigit()).removeprefix("55")
    fields: dict[str, Any] = {
        "nome": address.name,
        "email": address.email,
        "dddCelular": phone[:2] or None,
        "celular": phone[2:] or None,
        "cpfCnpj": address.document or address.company_document,
        "endereco": {
            key: value
            for key, value in {
                "cep": address.postal_code,
                "logradouro": address.address,
                "numero": address.number or "S/N",
                "complemento": address.complement,
                "bairro": address.district,
                "cidade": address.city,
                "uf": address.state_abbr,
            }.items()
            if value
        },
    }
    return {key: value for key, value in fields.items() if value}


def preregister(credentials: CorreiosCredentials, token: str, order: LabelOrder) -> tuple[str, str]:
    """Pre-post the order's box with its quoted product (``POST /prepostagem/v1/prepostagens``): its id and its
    tracking code. The lines are the content declaration; our order's name shows on the label."""
    box = parcel(order.packages)
    body = {
        "idCorreios": credentials.user,
        "numeroCartaoPostagem": credentials.posting_card,
        "remetente": _party(order.sender),
        "destinatario": _party(order.recipient),
        "codigoServico": order.service_id,
        "codigoFormatoObjetoInformado": "2",
        "pesoInformado": str(box.weight_grams),
        "comprimentoInformado": str(box.length_cm),
        "larguraInformada": str(box.width_cm),
        "alturaInformada": str(box.height_cm),
        "cienteObjetoNaoProibido": 1,
        "observacao": order.reference,
        "itensDeclaracaoConteudo": [
            {"conteudo": name, "quantidade": str(quantity), "valor": f"{value:.2f}"}
            for name, quantity, value in order.contents()
        ],
    }
    answer = _call(credentials, token, "POST", "/prepostagem/v1/prepostagens", body=body)
    pre_id, code = answer.get("id"), answer.get("codigoObjeto")
    if not isinstance(pre_id, str) or not pre_id or not isinstance(code, str) or not code:
        raise ProviderError(f"{_WHAT} answered a pre-posting without id or codigoObjeto", failure=Failure.REJECTED)
    return pre_id, code


def find_preposting(
    credentials: CorreiosCredentials, token: str, reference: str, since: datetime
) -> tuple[str, str] | None:
    """The pre-posting made for ``reference`` (its ``observacao``) since ``since``: (id, tracking code), or None.
    What a retry asks before pre-posting again when the first call's answer was lost."""
    first = since.astimezone(_BRASILIA).date().isoformat()
    last = datetime.now(_BRASILIA).date().isoformat()
    for page in range(_SEARCH_PAGES):
        params = {"dataInicio": first, "dataFim": last, "status": "PREPOSTADO", "page": str(page), "size": "50"}
        answer = _call(credentials, token, "GET", "/prepostagem/v1/prepostagens", params=params)
        items = answer.get("itens")
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or item.get("observacao") != reference:
                continue
            pre_id, code = item.get("id"), item.get("codigoObjeto")
            if isinstance(pre_id, str) and pre_id and isinstance(code, str) and code:
                return pre_id, code
        shown = answer.get("page")
        pages = shown.get("totalPages") if isinstance(shown, dict) else None
        if not isinstance(items, list) or len(items) < _SEARCH_PAGE or not isinstance(pages, int) or page + 1 >= pages:
            return None
    raise ProviderError(f"{_WHAT} has too many pre-postings to search for {reference}", failure=Failure.REJECTED)


def request_label(credentials: CorreiosCredentials, token: str, preposting_id: str) -> str:
    """Ask Correios to make the pre-posting's label PDF (``POST …/rotulo/assincrono/pdf``): the receipt to download
    it with."""
    body = {
        "idsPrePostagem": [preposting_id],
        "numeroCartaoPostagem": credentials.posting_card,
        "tipoRotulo": "P",
        "formatoRotulo": "ET",
        "imprimeRemetente": "S",
        "layoutImpressao": "PADRAO",
    }
    answer = _call(credentials, token, "POST", "/prepostagem/v1/prepostagens/rotulo/assincrono/pdf", body=body)
    receipt = answer.get("idRecibo")
    if not isinstance(receipt, str) or not receipt:
        raise ProviderError(f"{_WHAT} answered the label request without idRecibo", failure=Failure.REJECTED)
    return receipt


def download_label(credentials: CorreiosCredentials, token: str, receipt: str) -> bytes | None:
    """The label PDF of a receipt (``GET …/rotulo/download/assincrono/{idRecibo}``), or None while Correios is still
    making it."""
    path = f"/prepostagem/v1/prepostagens/rotulo/download/assincrono/{receipt}"
    try:
        answer = _call(credentials, token, "GET", path)
    except ProviderError as exc:
        if exc.failure is Failure.REJECTED and any(word.lower() in exc.detail.lower() for word in _PROCESSING):
            return None
        raise
    data = answer.get("dados")
    try:
        pdf = base64.b64decode(data, validate=True) if isinstance(data, str) else b""
    except ValueError:
        pdf = b""
    if not pdf.startswith(b"%PDF"):
        raise ProviderError(f"{_WHAT} answered the label download without a PDF", failure=Failure.REJECTED)
    return pdf


def _status(events: Sequence[Mapping[str, Any]]) -> str:
    if not events:
        return "released"
    if any(e.get("codigo") in _DELIVERED and str(e.get("tipo")) in ("1", "01") for e in events):
        return "delivered"
    return "posted"


def track(credentials: CorreiosCredentials, token: str, codes: Mapping[str, str]) -> list[Tracking]:
    """Where each object stands (``GET /srorastro/v1/objetos``); ``codes`` maps tracking code → label id. An object
    Correios does not know yet (pre-posted, not handed over) is ``released``."""
    found = []
    ordered = list(codes)
    for start in range(0, len(ordered), _TRACK_BATCH):
        batch = ordered[start : start + _TRACK_BATCH]
        params: dict[str, str | list[str]] = {"codigosObjetos": batch, "resultado": "U"}
        answer = _call(credentials, token, "GET", "/srorastro/v1/objetos", params=params)
        objects = answer.get("objetos")
        for entry in objects if isinstance(objects, list) else []:
            code = entry.get("codObjeto") if isinstance(entry, dict) else None
            if not isinstance(code, str) or code not in codes:
                continue
            events = entry.get("eventos")
            status = _status([e for e in events if isinstance(e, dict)] if isinstance(events, list) else [])
            found.append(Tracking(codes[code], status, code))
    return found


def whoami(credentials: CorreiosCredentials) -> str:
    """The connection test: a token for the posting card, and the contract Correios says it belongs to."""
    authenticate(credentials)
    mode = " (homologation)" if credentials.sandbox else ""
    return f"contract {credentials.contract}, posting card {credentials.posting_card}{mode}"
