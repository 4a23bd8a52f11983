"""A fake JadLog Embarcador API on loopback, for tests and for ``make run`` without a JadLog contract.

Point ``settings.jadlog_api_url`` at ``url``. It speaks JadLog's wire format and keeps its traps:

- Every call is a ``POST`` with ``Authorization: Bearer <token>`` (a shipper's static token, ``add_shipper``); an
  unknown token → 401.
- **Errors come in 200 bodies**: a request JadLog refuses answers 200 ``{"erro": {"id", "descricao", "detalhe"},
  "status": "..."}`` (a wrong conta corrente or CNPJ, missing fields); one entry of a list it cannot serve carries
  its own ``error``.
- ``POST /frete/valor {frete: [{cepori, cepdes, peso, cnpj, conta, modalidade, vldeclarado, …}]}`` → ``{frete:
  [{modalidade, vltotal, prazo, peso, …}]}``; an entry over 30 kg for .PACKAGE (3) or over 100 kg for the others →
  its ``error``.
- ``POST /pedido/incluir`` (``rem``, ``des`` with ``cep``, ``volume``, ``modalidade``, ``pedido``) → ``{codigo,
  shipmentId, status: "Solicitacao inserida com sucesso."}``. With ``loseNext`` the shipment is made and its answer
  lost (504).
- ``POST /tracking/consultar {consulta: [{shipmentId}]}`` → each one's ``tracking {codigo, shipmentId, status,
  eventos}`` once collected, else ``error {id: -1, descricao: "Nao localizado."}``. ``{consulta: [{pedido}]}`` (the
  shipper's own order reference) → ``{pedido, codigo, shipmentId, tracking?}`` of the shipment made for it, collected
  or not.
- Throttling: 429 with ``Retry-After`` past ``per_minute`` requests a minute per token; ``throttleNext`` forces it.
- Control: ``POST /_config {"failRate", "failStatus", "failNext", "throttleNext", "latencyMs"}``; ``GET|DELETE
  /_received``; ``POST /_shipments/<shipmentId>/collect`` (JadLog picked it up: ``EMISSAO``) and ``/deliver``
  (``ENTREGUE``).
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from localdev.fake_base import Answer, FaultyFake, json_handler

__all__ = ["MODALITIES", "FakeJadLog"]

# modality → (base price, price per kg, days, max kg)
MODALITIES = {
    3: (Decimal("15.90"), Decimal("2.70"), 6, Decimal(30)),
    9: (Decimal("22.50"), Decimal("3.90"), 3, Decimal(100)),
    4: (Decimal("35.00"), Decimal("1.80"), 9, Decimal(100)),
}


@dataclass
class _Shipper:
    """One shipper's token, documents and shipments."""

    token: str
    cnpj: str
    account: str
    contract: str
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)


def _refused(description: str, detail: str | None = None) -> Answer:
    problem = {"id": -1, "descricao": description, **({"detalhe": detail} if detail else {})}
    return Answer(200, {"erro": problem, "status": "Erro ao processar a solicitacao."})


class FakeJadLog(FaultyFake):
    """A fake JadLog Embarcador API on 127.0.0.1 (a free port unless ``port`` is given)."""

    kind = "jadlog"

    def __init__(self, port: int = 0, *, seed: int | None = None, per_minute: int = 300) -> None:
        self._init_faults(seed, per_minute)
        self.received: list[dict[str, Any]] = []
        self.shippers: dict[str, _Shipper] = {}  # token → shipper
        self._serial = itertools.count(1_000_001)
        self._lock = threading.RLock()
        self._listen(port, json_handler(self._answer), "fake-jadlog")

    # --- python helpers for tests and make run ----------------------------------------------------------------------

    def add_shipper(self, cnpj: str = "12345678000199") -> dict[str, str]:
        """A new shipper: the credentials BTRIX connects with (``token``, ``cnpj``, ``account``, ``contract``)."""
        with self._lock:
            shipper = _Shipper("jl_" + secrets.token_urlsafe(32), cnpj, f"{secrets.randbelow(10**6):06d}", "CT-2026")
            self.shippers[shipper.token] = shipper
            return {"token": shipper.token, "cnpj": cnpj, "account": shipper.account, "contract": shipper.contract}

    def settings_env(self) -> dict[str, str]:
        """The environment that points BTRIX at this fake."""
        return {"BTRIX_JADLOG_API_URL": self.url, "BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK": "true"}

    def shipments(self) -> list[dict[str, Any]]:
        """Every shipment of every shipper."""
        with self._lock:
            return [dict(s) for shipper in self.shippers.values() for s in shipper.shipments.values()]

    def collect(self, shipment_id: str) -> dict[str, Any]:
        """JadLog picked the package up: ``EMISSAO``."""
        return self._move(shipment_id, "EMISSAO")

    def deliver(self, shipment_id: str) -> dict[str, Any]:
        """JadLog delivered it: ``ENTREGUE``."""
        return self._move(shipment_id, "ENTREGUE")

    def _move(self, shipment_id: str, status: str) -> dict[str, Any]:
        with self._lock:
            for shipper in self.shippers.values():
                found = shipper.shipments.get(shipment_id)
                if found is not None:
                    found["status"] = status
                    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
                    found["eventos"].append({"data": stamp, "status": status, "unidade": "CD SAO PAULO"})
                    return dict(found)
        raise KeyError(shipment_id)

    # --- serving ----------------------------------------------------------------------------------------------------

    def _answer(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Answer:
        started = time.perf_counter()
        path = urlsplit(target).path.rstrip("/")
        if path.startswith("/_"):
            return self._control(method, path, body)
        self._delay()
        with self._lock:
            sent, reply = self._serve_json(
                body, _refused("JSON invalido"), lambda sent: self._api(method, path, sent, headers)
            )
            refused = isinstance(reply.body, dict) and "erro" in reply.body
            self._record(method, path, reply, started, body=sent, refused=refused)
        return reply

    def _control(self, method: str, path: str, body: bytes) -> Answer:
        moves = ("shipments", {"collect": self.collect, "deliver": self.deliver})
        return self._shared_control(method, path, body, moves) or Answer(404, {"error": f"no control {path}"})

    def _api(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Answer:
        sent: dict[str, Any] = body if isinstance(body, dict) else {}
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        shipper = self.shippers.get(token)
        if shipper is None:
            return Answer(401, {"error": "Unauthorized"})
        if self._throttled(token):
            return Answer(429, {"error": "Too Many Requests"}, (("Retry-After", "1"),))
        if self._failing():
            return Answer(self.fail_status, {"error": "Service Unavailable"})
        if method != "POST":
            return Answer(405, {"error": "Method Not Allowed"})
        handlers = {
            "/frete/valor": self._quote,
            "/pedido/incluir": lambda shipper, sent: self._lost(self._include(shipper, sent)),
            "/tracking/consultar": self._track,
        }
        handler = handlers.get(path)
        if handler is None:
            return Answer(404, {"error": "Not Found"})
        return handler(shipper, sent)

    def _quote(self, shipper: _Shipper, sent: dict[str, Any]) -> Answer:
        entries = sent.get("frete")
        if not isinstance(entries, list) or not entries:
            return _refused("Parametro frete obrigatorio")
        answered = []
        for entry in entries:
            if not isinstance(entry, dict):
                return _refused("Parametro frete invalido")
            if entry.get("conta") != shipper.account or entry.get("cnpj") != shipper.cnpj:
                return _refused("Conta corrente ou CNPJ invalido para o token informado")
            if not _cep(entry.get("cepori")) or not _cep(entry.get("cepdes")):
                return _refused("CEP de origem ou destino invalido")
            modality = entry.get("modalidade")
            weight = Decimal(str(entry.get("peso") or 0))
            tariff = MODALITIES.get(modality) if isinstance(modality, int) else None
            if tariff is None:
                answered.append({"modalidade": modality, "error": {"id": -2, "descricao": "Modalidade invalida"}})
                continue
            base, per_kg, days, max_kg = tariff
            if weight > max_kg:
                problem = {"id": -3, "descricao": f"Peso acima do limite da modalidade ({max_kg} kg)"}
                answered.append({"modalidade": modality, "error": problem})
                continue
            distance = abs(int(entry["cepori"][:2]) - int(entry["cepdes"][:2]))
            declared = Decimal(str(entry.get("vldeclarado") or 0))
            total = base + per_kg * weight + Decimal(distance) * Decimal("0.25") + declared * Decimal("0.005")
            answered.append(
                {
                    "cepori": entry["cepori"],
                    "cepdes": entry["cepdes"],
                    "frap": None,
                    "modalidade": modality,
                    "peso": float(weight),
                    "prazo": days + distance // 30,
                    "tpentrega": entry.get("tpentrega"),
                    "tpseguro": entry.get("tpseguro"),
                    "vldeclarado": float(declared),
                    "vltotal": float(total.quantize(Decimal("0.01"))),
                }
            )
        return Answer(200, {"frete": answered})

    def _include(self, shipper: _Shipper, sent: dict[str, Any]) -> Answer:
        missing = []
        for side in ("rem", "des"):
            given = sent.get(side)
            who: dict[str, Any] = given if isinstance(given, dict) else {}
            missing += [f"{side}.{name}" for name in ("nome", "endereco", "cidade", "uf", "cep") if not who.get(name)]
        if sent.get("modalidade") not in MODALITIES:
            missing.append("modalidade")
        if not isinstance(sent.get("volume"), list) or not sent["volume"]:
            missing.append("volume")
        if missing:
            return _refused("Erro ao incluir pedido", f"Campos obrigatorios: {', '.join(missing)}")
        if sent.get("contaCorrente") != shipper.account:
            return _refused("Conta corrente invalida")
        number = next(self._serial)
        shipment = {
            "codigo": f"{number}",
            "shipmentId": f"1800{number:09d}",
            "pedido": sent.get("pedido"),
            "modalidade": sent["modalidade"],
            "des": sent["des"],
            "status": "SOLICITACAO INSERIDA",
            "eventos": [],
        }
        shipper.shipments[shipment["shipmentId"]] = shipment
        return Answer(
            200,
            {
                "codigo": shipment["codigo"],
                "shipmentId": shipment["shipmentId"],
                "status": "Solicitacao inserida com sucesso.",
            },
        )

    def _track(self, shipper: _Shipper, sent: dict[str, Any]) -> Answer:
        asked = sent.get("consulta")
        if not isinstance(asked, list) or not asked:
            return _refused("Parametro consulta obrigatorio")
        answered = []
        for entry in asked:
            reference = entry.get("pedido") if isinstance(entry, dict) else None
            if reference:
                answered.append(_by_reference(shipper, str(reference)))
                continue
            shipment_id = str(entry.get("shipmentId") or "") if isinstance(entry, dict) else ""
            found = shipper.shipments.get(shipment_id)
            if found is None or not found["eventos"]:
                answered.append({"shipmentId": shipment_id, "error": {"id": -1, "descricao": "Nao localizado."}})
                continue
            tracking = {
                "codigo": found["codigo"],
                "shipmentId": shipment_id,
                "status": found["status"],
                "eventos": list(found["eventos"]),
            }
            answered.append({"shipmentId": shipment_id, "tracking": tracking})
        return Answer(200, {"consulta": answered})


def _by_reference(shipper: _Shipper, reference: str) -> dict[str, Any]:
    for found in shipper.shipments.values():
        if reference in (found.get("pedido") or []):
            made = {"pedido": reference, "codigo": found["codigo"], "shipmentId": found["shipmentId"]}
            tracking = {"status": found["status"], "eventos": list(found["eventos"])} if found["eventos"] else None
            return {**made, **({"tracking": tracking} if tracking else {})}
    return {"pedido": reference, "error": {"id": -1, "descricao": "Nao localizado."}}


def _cep(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[0-9]{8}", value) is not None
