"""The signed-up ADMIN's restaurant, driven through the API: a stocked product, its orders, parked executions.

Orders are created with ``POST /orders`` as a client would: prices copied from the catalog, stock checked, the
monthly counter taken, the order's workflow execution started (moto's Step Functions runs it). ``wait_parked``
runs the app's queue consumers, as Lambda's event sources would, until the execution has parked on the order's
status and left its task token: the state a transition finds in AWS once the order is a few seconds old.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from bench.target import BenchError, BenchUser, send

if TYPE_CHECKING:
    from chalice.test import TestHTTPClient

    from localdev.worker import QueueWorker

__all__ = ["STOCK_UNITS", "Commerce"]

STOCK_UNITS = 1_000_000
_PARK_TIMEOUT_S = 60.0


class Commerce:
    """A restaurant (corporativo plan) with one stocked product and orders created through ``POST /orders``."""

    def __init__(self, api: TestHTTPClient, user: BenchUser, product_id: str, order_ids: list[str]) -> None:
        self.api = api
        self.user = user
        self.product_id = product_id
        self.order_ids = order_ids  # created through the API, oldest first
        self._worker: QueueWorker | None = None

    @classmethod
    def prepare(cls, api: TestHTTPClient, user: BenchUser, orders: int = 25) -> Commerce:
        """Create the product (39.90 BRL, 10 % tax), put ``STOCK_UNITS`` in stock, create ``orders`` orders."""
        product = json.loads(
            send(
                api,
                "POST",
                "/products",
                {
                    "kind": "product",
                    "name": "Pizza Margherita",
                    "price": {"amount": "39.90", "currency": "BRL"},
                    "taxRate": "10",
                },
                token=user.access_token,
                expect=201,
            ).body
        )
        send(
            api,
            "POST",
            f"/inventory/{product['id']}/movements",
            {"type": "in", "quantity": STOCK_UNITS, "reason": "bench"},
            token=user.access_token,
            expect=201,
        )
        commerce = cls(api, user, str(product["id"]), [])
        for _ in range(orders):
            commerce.create_order()
        return commerce

    def _json(self, method: str, path: str, body: object = None, *, expect: int = 200) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(
            send(self.api, method, path, body, token=self.user.access_token, expect=expect).body
        )
        return answer

    def create_order(self) -> dict[str, Any]:
        """``POST /orders`` with one line (2 units of the product); the order as answered."""
        order = self._json("POST", "/orders", {"items": [{"productId": self.product_id, "quantity": 2}]}, expect=201)
        if order.get("status") != "PENDING":
            raise BenchError(f"a new order is {order.get('status')}, expected PENDING")
        self.order_ids.append(str(order["id"]))
        return order

    def get_order(self, order_id: str) -> dict[str, Any]:
        """``GET /orders/{order_id}``."""
        return self._json("GET", f"/orders/{order_id}")

    def list_orders(self, query: str = "limit=25") -> dict[str, Any]:
        """``GET /orders?<query>``: one page."""
        return self._json("GET", f"/orders?{query}")

    def transition(self, order: dict[str, Any], to: str) -> dict[str, Any]:
        """``POST /orders/{id}/transitions`` to ``to`` with the version ``order`` was read at."""
        moved = self._json("POST", f"/orders/{order['id']}/transitions", {"to": to, "version": order["version"]})
        if moved.get("status") != to:
            raise BenchError(f"the order is {moved.get('status')} after a transition to {to}")
        return moved

    def wait_parked(self, order_id: str, status: str = "PENDING") -> float:
        """Run the queue consumers until the order's execution parks on ``status``; the seconds it took."""
        from chalicelib.core.db.keys import Kind
        from chalicelib.workflows import store

        if self._worker is None:
            from app import app
            from localdev.worker import QueueWorker

            self._worker = QueueWorker(app, wait_seconds=0)
        started = time.monotonic()
        while True:
            runtime = store.get_runtime(self.user.tenant_id, Kind.ORDER, order_id)
            if runtime.task_token is not None and runtime.parked_status == status:
                return time.monotonic() - started
            if time.monotonic() - started > _PARK_TIMEOUT_S:
                raise BenchError(f"the execution of order {order_id} did not park on {status} in time")
            if not self._worker.poll_once():
                time.sleep(0.05)
