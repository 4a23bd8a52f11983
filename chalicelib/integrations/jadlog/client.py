"""JadLog's Embarcador API (``https://www.jadlog.com.br/embarcador/api``): freight quotes, the shipment order (its
label at JadLog) and tracking.

Wire facts (JadLog's Embarcador API docs and PROVIDERS.md "Brazilian commerce integrations"; those not confirmed
there are marked):

- Every call is a ``POST`` with JSON and the static ``Authorization: Bearer <token>`` JadLog issued the shipper (no
  refresh: a token JadLog refuses, 401/403, is ``fatal`` until the shipper connects a new one).
- **Errors come in 200 bodies**: ``{"erro": {"id", "descricao", "detalhe"}, "status"}`` for the whole request, or an
  ``error`` / ``erro`` object on one entry of a list; an HTTP status says only that the call arrived. They are
  ``rejected``.
- Quote: ``POST /frete/valor {frete: [{cepori, cepdes, frap, peso, cnpj, conta, contrato, modalidade, tpentrega,
  tpseguro, vldeclarado, vlcoleta}]}`` → ``{frete: [{modalidade, vltotal, prazo, peso, …}]}``; ``peso`` is the
  billable kilograms, the greater of the real and the cubed weight (the cubing factors used here, 6000 cm³/kg by air
  for .COM and 3333 by road, are JadLog's published ones but not confirmed for every contract).
- Label: ``POST /pedido/incluir`` (sender ``rem``, recipient ``des``, volumes, content declaration ``dfe``, our order
  in ``pedido``) → ``{codigo, shipmentId, status}``; ``shipmentId`` is what JadLog's tracking takes. A label PDF is
  not among the documented endpoints (the etiqueta is printed from JadLog's panel, by the order's ``codigo``), so a
  JadLog shipment has no label URL, and says why.
- Search (a shipment whose answer was lost): ``POST /tracking/consultar {consulta: [{pedido: <our reference>}]}`` →
  the ``codigo`` and ``shipmentId`` made for it (the consultation by ``pedido`` answering a shipment not collected
  yet is not confirmed in the public docs, which show it by ``codigo``, ``shipmentId``, ``cte`` and ``df``).
- Tracking: ``POST /tracking/consultar {consulta: [{shipmentId}]}`` → ``{consulta: [{shipmentId, tracking: {codigo,
  status, eventos: [{data, status, unidade}]}} | {shipmentId, error: {id, descricao: "Nao localizado."}}]}``;
  status ``ENTREGUE`` is delivered, ``CANCELADO`` cancelled, the others (``EMISSAO``, ``ENTRADA``,
  ``TRANSFERENCIA``, ``EM ROTA``…) travelling.
- Throttling is 429 (waited out a little by ``http.send_with_backoff``, then ``retryable``); 5xx ``retryable``.

One responsibility: JadLog's wire format (the API calls shipping makes).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import (
    Failure,
    ProviderError,
    check_provider_url,
    json_object,
    send_with_backoff,
)
from chalicelib.integrations.jadlog.credentials import JadLogCredentials
from chalicelib.integrations.parcels import LabelOrder, Parcel, ServiceQuote, ShippingAddress, Tracking, parcel

__all__ = ["MODALITY_NAMES", "billable_kg", "find_order", "include_order", "quote", "track", "whoami"]

_WHAT = "JadLog"
# JadLog's modalities (names on the quote); another code is shown as itself.
MODALITY_NAMES = {0: "EXPRESSO", 3: ".PACKAGE", 4: "RODOVIARIO", 5: "ECONOMICO", 9: ".COM", 40: "CORPORATE"}
_AIR = frozenset({0, 9})
_AIR_CM3_PER_KG = Decimal(6000)
_ROAD_CM3_PER_KG = Decimal(3333)
_NOT_FOUND = "nao localizado"


def _error(body: Mapping[str, Any]) -> str | None:
    problem = body.get("erro") or body.get("error")
    if not isinstance(problem, dict):
        return None
    parts = [str(problem.get(key)) for key in ("descricao", "detalhe") if problem.get(key)]
    return "; ".join(parts)[:400] or f"error {problem.get('id')}"


def _call(credentials: JadLogCredentials, path: str, body: Any) -> dict[str, Any]:
    url = check_provider_url(f"{get_settings().jadlog_api_url.rstrip('/')}{path}")
    headers = {"Authorization": f"Bearer {credentials.token.get_secret_value()}", "Accept": "application/json"}
    response = send_with_backoff(_WHAT, lambda http: http.post(url, json=body, headers=headers))
    answer = json_object(_WHAT, response)
    problem = _error(answer)
    if problem is not None:
        raise ProviderError(f"{_WHAT} refused the request: {problem}", failure=Failure.REJECTED)
    return answer


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def billable_kg(box: Parcel, modality: int) -> Decimal:
    """The kilograms JadLog charges ``box`` for: the greater of its weight and its cubed weight."""
    factor = _AIR_CM3_PER_KG if modality in _AIR else _ROAD_CM3_PER_KG
    cubed = Decimal(box.length_cm * box.width_cm * box.height_cm) / factor
    return max(box.weight_kg, cubed).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def quote(credentials: JadLogCredentials, origin: str, destination: str, box: Parcel) -> list[ServiceQuote]:
    """Each modality's price and days for the box (``POST /frete/valor``); a modality JadLog refuses for it is
    listed with the reason."""
    entries = [
        {
            "cepori": origin,
            "cepdes": destination,
            "frap": None,
            "peso": float(billable_kg(box, modality)),
            "cnpj": credentials.cnpj,
            "conta": credentials.account,
            "contrato": credentials.contract,
            "modalidade": modality,
            "tpentrega": "D",
            "tpseguro": "N",
            "vldeclarado": float(box.declared_value),
            "vlcoleta": 0,
        }
        for modality in credentials.modalities
    ]
    answer = _call(credentials, "/frete/valor", {"frete": entries})
    answered = answer.get("frete")
    by_modality = (
        {entry.get("modalidade"): entry for entry in answered if isinstance(entry, dict)}
        if isinstance(answered, list)
        else {}
    )
    quotes = []
    for modality in credentials.modalities:
        name = MODALITY_NAMES.get(modality, str(modality))
        entry = by_modality.get(modality)
        problem = _error(entry) if entry is not None else "no answer for this modality"
        price = _decimal(entry.get("vltotal")) if entry is not None and problem is None else None
        days = entry.get("prazo") if entry is not None and problem is None else None
        if problem is None and price is None:
            problem = "no price"
        quotes.append(
            ServiceQuote(
                service_id=str(modality),
                name=name,
                company="Jadlog",
                price=price,
                delivery_days=days if isinstance(days, int) and not isinstance(days, bool) else None,
                error=problem,
            )
        )
    return quotes


def _party(address: ShippingAddress, document: str | None = None) -> dict[str, Any]:
    fields = {
        "nome": address.name,
        "cpfCnpj": document or address.document or address.company_document,
        "endereco": address.address,
        "numero": address.number or "S/N",
        "compl": address.complement,
        "bairro": address.district,
        "cidade": address.city,
        "uf": address.state_abbr,
        "cep": address.postal_code,
        "fone": address.phone,
        "email": address.email,
    }
    return {key: value for key, value in fields.items() if value}


def include_order(credentials: JadLogCredentials, order: LabelOrder) -> tuple[str, str]:
    """Register the order's box with its quoted modality (``POST /pedido/incluir``): JadLog's order code and its
    ``shipmentId``. A non-commercial shipment: a content declaration instead of an invoice (``dfe`` of type 2; the
    field values are not confirmed for every contract)."""
    box, modality, reference = parcel(order.packages), int(order.service_id), order.reference
    contents = order.contents()
    weight = float(billable_kg(box, modality))
    body = {
        "conteudo": ", ".join(name for name, _, _ in contents)[:80],
        "pedido": [reference],
        "totPeso": weight,
        "totValor": float(box.declared_value),
        "obs": reference,
        "modalidade": modality,
        "contaCorrente": credentials.account,
        "nrContrato": credentials.contract,
        "tpColeta": "K",
        "tipoFrete": 0,
        "servico": 1,
        "rem": _party(order.sender, credentials.cnpj),
        "des": _party(order.recipient),
        "dfe": [
            {
                "cfop": "6909",
                "danfeCte": None,
                "nrDoc": "DECLARACAO",
                "serie": None,
                "tpDocumento": 2,
                "valor": float(box.declared_value),
            }
        ],
        "volume": [
            {
                "altura": box.height_cm,
                "comprimento": box.length_cm,
                "largura": box.width_cm,
                "peso": weight,
                "identificador": reference,
            }
        ],
    }
    answer = _call(credentials, "/pedido/incluir", body)
    code, shipment = answer.get("codigo"), answer.get("shipmentId")
    if not code or not shipment:
        raise ProviderError(f"{_WHAT} answered an order without codigo or shipmentId", failure=Failure.REJECTED)
    return str(code), str(shipment)


def find_order(credentials: JadLogCredentials, reference: str) -> tuple[str, str] | None:
    """The shipment JadLog made for our ``reference`` (its ``pedido``): (codigo, shipmentId), or None. What a retry
    asks before including the order again when the first call's answer was lost."""
    answer = _call(credentials, "/tracking/consultar", {"consulta": [{"pedido": reference}]})
    entries = answer.get("consulta")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("pedido") != reference:
            continue
        code, shipment = entry.get("codigo"), entry.get("shipmentId")
        if code and shipment:
            return str(code), str(shipment)
        problem = _error(entry) or ""
        if _NOT_FOUND not in problem.lower():
            raise ProviderError(f"{_WHAT} answered the search with {problem or 'nothing'}", failure=Failure.REJECTED)
    return None


def _status(tracking: Mapping[str, Any]) -> str:
    status = str(tracking.get("status") or "").upper()
    if status == "ENTREGUE":
        return "delivered"
    if status.startswith("CANCELAD"):
        return "canceled"
    return "posted" if status else "released"


def track(credentials: JadLogCredentials, shipments: Mapping[str, str]) -> list[Tracking]:
    """Where each shipment stands (``POST /tracking/consultar``); ``shipments`` maps shipmentId → label id. A
    shipment JadLog does not know yet (not collected) is ``released``."""
    if not shipments:
        return []
    answer = _call(credentials, "/tracking/consultar", {"consulta": [{"shipmentId": s} for s in shipments]})
    entries = answer.get("consulta")
    found = []
    for entry in entries if isinstance(entries, list) else []:
        shipment = str(entry.get("shipmentId") or "") if isinstance(entry, dict) else ""
        if shipment not in shipments:
            continue
        tracking = entry.get("tracking")
        status = _status(tracking) if isinstance(tracking, dict) else "released"
        found.append(Tracking(shipments[shipment], status, shipment))
    return found


def whoami(credentials: JadLogCredentials) -> str:
    """The connection test: JadLog has no "who am I"; a tracking query of a shipment that cannot exist answers
    "not found" to a token it takes (and 401 to one it does not)."""
    answer = _call(credentials, "/tracking/consultar", {"consulta": [{"shipmentId": "0"}]})
    entries = answer.get("consulta")
    first = entries[0] if isinstance(entries, list) and entries and isinstance(entries[0], dict) else {}
    problem = _error(first) or ""
    if first.get("tracking") is None and _NOT_FOUND not in problem.lower():
        raise ProviderError(f"{_WHAT} answered the test with {problem or 'nothing'}", failure=Failure.REJECTED)
    return f"account {credentials.account} (CNPJ {credentials.cnpj})"
