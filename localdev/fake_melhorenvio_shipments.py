"""The fake MelhorEnvio's accounts and their labels, and the shipment API on them (quotes, the cart, checkout,
generating and printing labels, tracking), with MelhorEnvio's validation answers: what ``FakeMelhorEnvio`` (the
server, its OAuth, webhooks and dispatch) builds on."""

from __future__ import annotations

import itertools
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from localdev.fake_base import Answer, FaultyFake

__all__ = ["SERVICES", "Account", "MelhorEnvioShipments", "now"]

_INVALID = "The given data was invalid."
_MAX_KG_CORREIOS = Decimal(30)
_MAX_SIDE_CM = 100
# (id, name, company, base price, price per kg, days)
SERVICES = (
    (1, "PAC", "Correios", Decimal("18.50"), Decimal("3.20"), 8),
    (2, "SEDEX", "Correios", Decimal("29.90"), Decimal("5.10"), 3),
    (3, ".Package", "Jadlog", Decimal("16.40"), Decimal("2.90"), 6),
    (4, ".Com", "Jadlog", Decimal("24.00"), Decimal("4.00"), 4),
)


@dataclass
class Account:
    """One MelhorEnvio account and its labels."""

    id: str
    email: str
    balance: Decimal
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)


class MelhorEnvioShipments(FaultyFake):
    """The shipment API of the fake MelhorEnvio's accounts (the caller holds the lock)."""

    _protocols: itertools.count[int]

    def _calculate(self, account: Account, sent: dict[str, Any]) -> Answer:
        errors: dict[str, list[str]] = {}
        for side in ("from", "to"):
            if not _cep(((sent.get(side) or {}) if isinstance(sent.get(side), dict) else {}).get("postal_code")):
                errors[f"{side}.postal_code"] = [f"O campo {side}.postal_code é obrigatório."]
        products = sent.get("products")
        if not isinstance(products, list) or not products:
            errors["products"] = ["O campo products é obrigatório."]
            products = []
        weight, biggest, insured = Decimal(0), 0, Decimal(0)
        for index, product in enumerate(products):
            for name in ("width", "height", "length", "weight", "quantity"):
                value = product.get(name) if isinstance(product, dict) else None
                if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                    errors[f"products.{index}.{name}"] = [f"O campo products.{index}.{name} é obrigatório."]
            if f"products.{index}.weight" not in errors and f"products.{index}.quantity" not in errors:
                weight += Decimal(str(product["weight"])) * int(product["quantity"])
                insured += Decimal(str(product.get("insurance_value") or 0)) * int(product["quantity"])
            sides = [product.get(n) for n in ("width", "height", "length")]
            biggest = max([biggest, *[int(s) for s in sides if isinstance(s, int | float) and not isinstance(s, bool)]])
        if errors:
            return Answer(422, {"message": _INVALID, "errors": errors})
        distance = abs(int(sent["from"]["postal_code"][:2]) - int(sent["to"]["postal_code"][:2]))
        quotes = []
        for service_id, name, company, base, per_kg, days in SERVICES:
            entry: dict[str, Any] = {"id": service_id, "name": name, "company": {"id": service_id, "name": company}}
            if company == "Correios" and weight > _MAX_KG_CORREIOS:
                entry["error"] = "Peso excede o limite do serviço."
            elif biggest > _MAX_SIDE_CM:
                entry["error"] = "Dimensões excedem o limite do serviço."
            else:
                price = base + per_kg * weight + Decimal(distance) * Decimal("0.35") + insured * Decimal("0.01")
                entry.update(
                    price=f"{price.quantize(Decimal('0.01'))}",
                    custom_price=f"{price.quantize(Decimal('0.01'))}",
                    currency="R$",
                    delivery_time=days + distance // 20,
                    custom_delivery_time=days + distance // 20,
                )
            quotes.append(entry)
        return Answer(200, quotes)

    def _cart(self, account: Account, sent: dict[str, Any]) -> Answer:
        errors: dict[str, list[str]] = {}
        if sent.get("service") not in {s[0] for s in SERVICES}:
            errors["service"] = ["O serviço selecionado é inválido."]
        for side in ("from", "to"):
            given = sent.get(side)
            who: dict[str, Any] = given if isinstance(given, dict) else {}
            for name in ("name", "address", "city", "postal_code"):
                if not who.get(name):
                    errors[f"{side}.{name}"] = [f"O campo {side}.{name} é obrigatório."]
            if who.get("postal_code") and not _cep(who.get("postal_code")):
                errors[f"{side}.postal_code"] = ["O CEP informado é inválido."]
        given_volumes = sent.get("volumes")
        volumes: list[Any] = given_volumes if isinstance(given_volumes, list) else []
        if not volumes:
            errors["volumes"] = ["O campo volumes é obrigatório."]
        if errors:
            return Answer(422, {"message": _INVALID, "errors": errors})
        service = next(s for s in SERVICES if s[0] == sent["service"])
        weight = sum((Decimal(str(v.get("weight") or 0)) for v in volumes if isinstance(v, dict)), Decimal(0))
        shipment = {
            "id": str(uuid.uuid4()),
            "user_id": account.id,
            "protocol": f"ORD-{next(self._protocols):08d}",
            "service_id": service[0],
            "price": f"{(service[3] + service[4] * weight).quantize(Decimal('0.01'))}",
            "status": "pending",
            "tracking": None,
            "tags": (sent.get("options") or {}).get("tags") or [],
            "to": sent["to"],
            "created_at": now(),
        }
        account.shipments[shipment["id"]] = shipment
        return Answer(201, {k: v for k, v in shipment.items() if k != "to"})

    def _orders(self, account: Account, sent: dict[str, Any]) -> tuple[list[dict[str, Any]], Answer | None]:
        ids = sent.get("orders")
        if not isinstance(ids, list) or not ids:
            return [], Answer(422, {"message": _INVALID, "errors": {"orders": ["O campo orders é obrigatório."]}})
        found = []
        for index, shipment_id in enumerate(ids):
            shipment = account.shipments.get(str(shipment_id))
            if shipment is None:
                errors = {f"orders.{index}": ["O envio selecionado é inválido."]}
                return [], Answer(422, {"message": _INVALID, "errors": errors})
            found.append(shipment)
        return found, None

    def _checkout(self, account: Account, sent: dict[str, Any]) -> Answer:
        found, problem = self._orders(account, sent)
        if problem is not None:
            return problem
        if any(s["status"] != "pending" for s in found):
            return Answer(422, {"message": "Envio já foi pago.", "errors": {"orders": ["Envio já foi pago."]}})
        total = sum((Decimal(s["price"]) for s in found), Decimal(0))
        if total > account.balance:
            return Answer(422, {"message": "Saldo insuficiente.", "errors": {"orders": ["Saldo insuficiente."]}})
        account.balance -= total
        for shipment in found:
            shipment.update(status="released", paid_at=now())
        purchase = {"id": str(uuid.uuid4()), "status": "paid", "total": float(total), "orders": found}
        return Answer(200, {"purchase": purchase})

    def _each_order(
        self, account: Account, sent: dict[str, Any], answer: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> Answer:
        """MelhorEnvio's answer about each of the ``orders`` sent, by its id (or the validation answer)."""
        found, problem = self._orders(account, sent)
        if problem is not None:
            return problem
        return Answer(200, {shipment["id"]: answer(shipment) for shipment in found})

    def _generate(self, account: Account, sent: dict[str, Any]) -> Answer:
        return self._each_order(account, sent, _generated)

    def _print(self, account: Account, sent: dict[str, Any]) -> Answer:
        found, problem = self._orders(account, sent)
        if problem is not None:
            return problem
        if any("generated_at" not in s for s in found):
            return Answer(422, {"message": "Etiqueta não gerada.", "errors": {"orders": ["Etiqueta não gerada."]}})
        return Answer(200, {"url": f"{self.url}/imprimir/{secrets.token_urlsafe(12)}"})

    def _tracking(self, account: Account, sent: dict[str, Any]) -> Answer:
        return self._each_order(account, sent, _tracked)


def _generated(shipment: dict[str, Any]) -> dict[str, Any]:
    """A label generated, once it was paid for."""
    ok = shipment["status"] in ("released", "posted", "delivered")
    if ok:
        shipment.setdefault("generated_at", now())
    return {"status": ok, "message": "Envio gerado" if ok else "Envio não foi pago"}


def _tracked(shipment: dict[str, Any]) -> dict[str, Any]:
    """A label's tracking, as MelhorEnvio shows it."""
    return {
        "id": shipment["id"],
        "protocol": shipment["protocol"],
        "status": shipment["status"],
        "tracking": shipment["tracking"],
        "melhorenvio_tracking": f"ME{shipment['protocol'][-8:]}",
        "created_at": shipment["created_at"],
        "paid_at": shipment.get("paid_at"),
        "generated_at": shipment.get("generated_at"),
        "posted_at": shipment.get("posted_at"),
        "delivered_at": shipment.get("delivered_at"),
        "canceled_at": None,
        "expired_at": None,
    }


def _cep(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[0-9]{8}", value) is not None


def now() -> str:
    """Now as MelhorEnvio writes it."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
