"""Delivery platforms: how many iFood events a poll turns into BTRIX orders per second.

Set-up: a fake iFood on loopback and the bench tenant (``Target.user``) connected to it as ``make run``'s demo
restaurant is (``localdev.demo_delivery``), with a product of its catalog as the menu item's external code.

- N orders are placed at the fake (two lines each: one matched to the catalog, one kept as text), so N PLACED events
  wait to be polled. Then the ``ifood.sync`` job's handler runs in this process, poll after poll, until every event is
  acknowledged: each poll reads the events, reads each new order's details, creates the BTRIX order (claim, order,
  its lists, audit, event in one transaction, its status flow started) and acknowledges what it stored. Reported:
  events and orders per second over the whole drain, the time per order, and how many polls it took.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.target import BenchError, Target
from tests.support.environment import settings_from

__all__ = ["DeliveryReport", "measure_delivery", "render_delivery"]


@dataclass(frozen=True)
class DeliveryReport:
    """One drain of the fake iFood's events into orders."""

    events: int
    orders: int
    polls: int
    seconds: float

    @property
    def events_per_s(self) -> float:
        """Events acknowledged per second."""
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def orders_per_s(self) -> float:
        """Orders created per second."""
        return self.orders / self.seconds if self.seconds else 0.0


def measure_delivery(
    target: Target, *, orders: int = 200, progress: Callable[[str], None] = lambda _: None
) -> DeliveryReport:
    """Connect the bench tenant to a fake iFood, place ``orders`` orders there and time the polls that take them."""
    from pydantic import SecretStr

    from chalicelib.access.permissions import Role
    from chalicelib.access.principal import Principal
    from chalicelib.core.db.store import tenant_scope
    from chalicelib.core.ids import new_id
    from chalicelib.delivery import ifood as delivery_ifood
    from chalicelib.integrations import jobs
    from chalicelib.integrations import service as integrations
    from chalicelib.integrations.credentials import Provider
    from chalicelib.integrations.ifood.credentials import IFoodCredentials
    from localdev.fake_ifood import FakeIFood
    from localdev.stack import free_port

    fake = FakeIFood(port=free_port()).start()
    user = target.user
    admin = Principal(user_id=user.user_id, tenant_id=user.tenant_id, role=Role.ADMIN, email=user.email)
    try:
        with settings_from({"BTRIX_IFOOD_API_URL": fake.url}), tenant_scope(user.tenant_id):
            merchant = fake.add_merchant("Bench Pizzaria")
            credentials = IFoodCredentials(
                client_id=merchant["clientId"],
                client_secret=SecretStr(merchant["clientSecret"]),
                merchant_id=merchant["merchantId"],
            )
            integrations.store_credentials(admin, Provider.IFOOD, credentials)
            product = target.call("POST", "/products", _product(), token=user.access_token, expect=201)
            code = json.loads(product.body)["code"]
            for n in range(orders):
                fake.place_order(
                    merchant["merchantId"],
                    [
                        {"name": "Pizza", "externalCode": code, "quantity": 1 + n % 2, "unitPrice": 39.9},
                        {"name": "Borda recheada", "externalCode": "BORDA01", "quantity": 1, "unitPrice": 8.0},
                    ],
                )
            progress(f"delivery: {orders} iFood orders placed; polling them in")
            before = fake.polls
            started = time.perf_counter()
            while fake.pending_events():
                job = jobs.Job(
                    kind=jobs.task_kind(delivery_ifood.SYNC_TASK),
                    tenant_id=user.tenant_id,
                    body={"type": "task", "task": delivery_ifood.SYNC_TASK, "tenantId": user.tenant_id},
                    key=new_id(),
                    attempt=1,
                )
                delivery_ifood.poll(job)
                if time.perf_counter() - started > 600:
                    raise BenchError("the iFood events were not all taken in 10 minutes")
            seconds = time.perf_counter() - started
            created = sum(
                1 for o in fake.orders if integrations.find_ref(user.tenant_id, Provider.IFOOD, "order", o) is not None
            )
            return DeliveryReport(len(fake.acknowledged), created, fake.polls - before, seconds)
    finally:
        fake.stop()


def _product() -> dict[str, object]:
    return {"kind": "product", "name": "Pizza de bench", "price": {"amount": "39.90", "currency": "BRL"}}


def render_delivery(report: DeliveryReport) -> str:
    """The markdown table of the report."""
    from bench.report import table

    return table(
        ["iFood events polled into orders", "value"],
        [
            ["events acknowledged", f"{report.events:,}"],
            ["orders created", f"{report.orders:,}"],
            ["polls", f"{report.polls:,}"],
            ["seconds", f"{report.seconds:.1f}"],
            ["events per second", f"{report.events_per_s:.1f}"],
            ["orders per second", f"{report.orders_per_s:.1f}"],
            ["ms per order", f"{1000 * report.seconds / max(1, report.orders):.0f}"],
        ],
    )
