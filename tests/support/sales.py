"""A Tekup-like sales company through the API: the team (one user per sales role, two reps), services, customers,
sales and leads, as a person would make them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.access.permissions import Role
from tests.support.commerce import create_customer, create_product
from tests.support.identity import Account, add_user, call, signup

DKK = "DKK"


def dkk(amount: str) -> dict[str, str]:
    """A money JSON in Danish kroner."""
    return {"amount": amount, "currency": DKK}


@dataclass(frozen=True)
class SalesTeam:
    """A Danish service company (every module): its ADMIN, a sales manager, two reps and a viewer."""

    admin: Account
    manager: Account
    rep: Account
    other_rep: Account
    viewer: Account

    @property
    def tenant_id(self) -> str:
        """The company's tenant id."""
        return self.admin.tenant_id

    def by_role(self) -> dict[str, Account]:
        """Each seed role (ADMIN, SALES_MANAGER, SALES_REP, VIEWER) → its account here (SALES_MANAGER is MANAGER)."""
        return {"ADMIN": self.admin, "SALES_MANAGER": self.manager, "SALES_REP": self.rep, "VIEWER": self.viewer}


def sales_team(api: Any) -> SalesTeam:
    """Sign up a da-DK company and invite its team."""
    admin, _ = signup(
        api,
        businessType="services",
        companyName="Rendetalje ApS",
        locale="da-DK",
        timeZone="Europe/Copenhagen",
        currency=DKK,
        country="DK",
    )
    return SalesTeam(
        admin=admin,
        manager=add_user(api, admin, Role.MANAGER),
        rep=add_user(api, admin, Role.SALES_REP),
        other_rep=add_user(api, admin, Role.SALES_REP),
        viewer=add_user(api, admin, Role.VIEWER),
    )


def create_service(
    api: Any, account: Account, name: str = "Hovedrengøring", price: str = "1200.00", **fields: Any
) -> Any:
    """A catalog item of kind service (25 % VAT unless ``fields`` say otherwise)."""
    body = {"kind": "service", "name": name, "price": dkk(price), "taxRate": "25", "durationMinutes": 180, **fields}
    return create_product(api, account, **body)


def customer(api: Any, account: Account, **fields: Any) -> dict[str, Any]:
    """A customer (Mette Hansen unless ``fields`` say otherwise)."""
    return create_customer(api, account, **{"name": "Mette Hansen", **fields})


def post_sale(api: Any, account: Account, **fields: Any) -> Any:
    """POST /sales; returns the raw response."""
    return call(api, "POST", "/sales", fields, account.headers())


def create_sale(api: Any, account: Account, service_id: str, customer_id: str, **fields: Any) -> dict[str, Any]:
    """A sale of ``service_id`` to ``customer_id`` (201 asserted)."""
    response = post_sale(api, account, serviceId=service_id, customerId=customer_id, **fields)
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def move_sale(api: Any, account: Account, sale: dict[str, Any], to: str) -> Any:
    """POST /sales/{id}/transitions to ``to`` with the sale's version; returns the raw response."""
    body = {"to": to, "version": sale["version"]}
    return call(api, "POST", f"/sales/{sale['id']}/transitions", body, account.headers())
