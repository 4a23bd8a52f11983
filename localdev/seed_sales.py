"""The demo sales company's data (Tekup sales tracking, ``localdev.seed``): its services, customers, sales in every
status of the flow and leads in each of theirs, made through the services the API uses, as its people would."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.access.permissions import Role
from chalicelib.access.principal import Principal
from chalicelib.catalog import service as catalog
from chalicelib.catalog.models import CreateProductRequest, Product
from chalicelib.core.money import Money
from chalicelib.customers import service as customers
from chalicelib.customers.models import CreateCustomerRequest
from chalicelib.leads import service as leads
from chalicelib.leads.conversion import convert_lead
from chalicelib.leads.models import ConvertLeadRequest, CreateLeadRequest
from chalicelib.sales import service as sales
from chalicelib.sales.models import CreateSaleRequest

__all__ = ["seed_sales_company"]

# (service, price, minutes): a Danish cleaning company's catalog, 25 % VAT (moms).
_SERVICES = (
    ("Hovedrengøring", "1200.00", 240),
    ("Vinduespudsning", "400.00", 60),
    ("Flytterengøring", "2500.00", 360),
    ("Erhvervsrengøring", "3000.00", 300),
)
# (customer, email, phone)
_CUSTOMERS = (
    ("Mette Hansen", "mette@hansen.example.dk", "+4520304050"),
    ("Ole Jensen", "ole@jensen.example.dk", "+4521314151"),
    ("Kontorhuset ApS", "drift@kontorhuset.example.dk", "+4570203040"),
)
# (service, customer, seller, source, the statuses it goes through after PENDING)
_SALES = (
    (0, 0, Role.SALES_REP, "phone", ("ACCEPTED", "IN_PROGRESS", "COMPLETED")),
    (1, 0, Role.SALES_REP, "web", ("ACCEPTED", "SCHEDULED")),
    (2, 1, Role.SALES_REP, "referral", ("ACCEPTED",)),
    (3, 2, Role.MANAGER, "email", ("ACCEPTED", "IN_PROGRESS")),
    (1, 1, Role.MANAGER, "web", ()),
    (0, 2, Role.SALES_REP, "phone", ("CANCELLED",)),
)


def seed_sales_company(admin: Principal, manager: Principal, rep: Principal, currency: str, time_zone: str) -> None:
    """A cleaning company: services, customers, sales in every status of the flow (one completed, one scheduled
    tomorrow), and leads: new, contacted, qualified, converted and lost."""
    services = [
        catalog.create_product(
            admin,
            CreateProductRequest.model_validate(
                {
                    "name": name,
                    "price": Money.of(price, currency),
                    "kind": "service",
                    "taxRate": "25",
                    "durationMinutes": minutes,
                }
            ),
            None,
        )
        for name, price, minutes in _SERVICES
    ]
    people = [
        customers.create_customer(admin, CreateCustomerRequest(name=name, email=email, phone=phone), None)
        for name, email, phone in _CUSTOMERS
    ]
    sellers = {Role.SALES_REP: rep, Role.MANAGER: manager}
    tomorrow = datetime.now(ZoneInfo(time_zone)).replace(hour=9, minute=0, second=0, microsecond=0)
    tomorrow += timedelta(days=1)
    for service, person, role, source, steps in _SALES:
        seller = sellers[role]
        body = CreateSaleRequest.model_validate(
            {"serviceId": services[service].id, "customerId": people[person].id, "source": source}
        )
        if "SCHEDULED" in steps:
            body = body.model_copy(update={"scheduled_at": tomorrow})
        sale = sales.create_sale(seller, body, None)
        for step in steps:
            sale = sales.transition_sale(seller, sale.id, step, None, sale.version)
    _seed_leads(rep, manager, services)


def _seed_leads(rep: Principal, manager: Principal, services: list[Product]) -> None:
    """Leads in each status of their flow; the qualified one is left for the person trying the demo to convert."""
    made: list[Any] = []
    for name, email, service, value, steps in (
        ("Anne Nielsen", "anne@nielsen.example.dk", 1, "400.00", ()),
        ("Bo Pedersen", "bo@pedersen.example.dk", 0, "1200.00", ("CONTACTED",)),
        ("Camilla Holm", "camilla@holm.example.dk", 2, "2500.00", ("CONTACTED", "QUALIFIED")),
        ("Dorte Lund", "dorte@lund.example.dk", 3, "3000.00", ("CONTACTED", "QUALIFIED")),
        ("Erik Madsen", "erik@madsen.example.dk", 1, "400.00", ("LOST",)),
    ):
        body = CreateLeadRequest.model_validate(
            {
                "contactName": name,
                "contactEmail": email,
                "interestServiceId": services[service].id,
                "estimatedValue": {"amount": value, "currency": "DKK"},
                "source": "email" if service % 2 else "web",
            }
        )
        lead = leads.create_lead(rep, body, None).lead
        for step in steps:
            lead = leads.transition_lead(rep, lead.id, step, None, lead.version)
        made.append(lead)
    converted = made[3]
    convert_lead(manager, converted.id, ConvertLeadRequest(version=converted.version), None)
