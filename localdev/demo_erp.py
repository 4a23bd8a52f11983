"""The ERPs in ``make run``: a fake Bling and a fake Tiny, the demo reseller (``RESELLER_DEMO``, a Brazilian parts
distributor) connected to Bling with the NF-e issued by Bling, and the demo restaurant (Cantina da Nonna) connected
to Tiny; both with BTRIX as the source of truth for products and stock (the seed's products and counts are pushed
as the demo's events are handled, so a pull finds the ERPs in step and ``make run`` starts without a conflict).

When the fake providers are on and no real ERP is configured (``BTRIX_BLING_API_URL``, ``BTRIX_TINY_API_URL``), the
runner starts the fakes and points the settings at them (before the app reads its settings); Bling's consent
redirect is this API's ``/integrations/bling/callback``. After seeding, the tenants are connected: the reseller by a
refresh token of BTRIX's local Bling app (what a consent would have left), the restaurant by the fake Tiny company's
API token, so catalog changes, stock movements and paid orders reach the fakes; once the demo's events are handled,
the fake Bling's stock webhooks go to the reseller's ``/hooks/bling``. The banner's lines push a count,
show it at the fake, count differently there (``POST /_stock``) and pull: the difference is logged as a conflict.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from localdev.fake_bling import FakeBling
from localdev.fake_tiny import FakeTiny

__all__ = ["ErpFakes", "connect", "lines", "listen", "start_fakes"]


@dataclass(frozen=True)
class ErpFakes:
    """The ERP fakes started (None: a real one is configured, or fakes are off)."""

    bling: FakeBling | None
    tiny: FakeTiny | None

    def stop(self) -> None:
        """Stop what was started."""
        for fake in (self.bling, self.tiny):
            if fake is not None:
                fake.stop()

    def urls(self) -> dict[str, str]:
        """kind → base URL of the fakes started."""
        return {fake.kind: fake.url for fake in (self.bling, self.tiny) if fake is not None}


def _setdefault(values: dict[str, str]) -> None:
    os.environ.update({name: value for name, value in values.items() if name not in os.environ})


def start_fakes(enabled: bool, bling_port: int, tiny_port: int, api_url: str) -> ErpFakes:
    """Start the fake Bling and the fake Tiny unless disabled or configured, and point the settings at them."""
    from localdev.provision import local_webhook_secrets

    bling = tiny = None
    if enabled and not os.environ.get("BTRIX_BLING_API_URL"):
        app = json.loads(local_webhook_secrets()["bling-oauth-app"])
        callback = f"{api_url}/integrations/bling/callback"
        bling = FakeBling(
            bling_port, client_id=app["clientId"], client_secret=app["clientSecret"], redirect_uri=callback
        )
        _setdefault(bling.start().settings_env())
    if enabled and not os.environ.get("BTRIX_TINY_API_URL"):
        tiny = FakeTiny(tiny_port)
        _setdefault(tiny.start().settings_env())
    return ErpFakes(bling, tiny)


def connect(fakes: ErpFakes) -> None:
    """Connect the demo tenants to the fakes (replacing what an earlier run connected)."""
    from pydantic import SecretStr

    from chalicelib.integrations import service
    from chalicelib.integrations.bling.credentials import BlingCredentials
    from chalicelib.integrations.credentials import Provider
    from chalicelib.integrations.tiny.credentials import TinyCredentials
    from localdev.seed import DEMO_TENANTS, RESELLER_DEMO, demo_admin

    if fakes.bling is not None:
        credentials = BlingCredentials(
            refresh_token=SecretStr(fakes.bling.issue_refresh_token()),
            source_of_truth="btrix",
            issue_nfe=True,
            account=fakes.bling.company,
        )
        service.store_credentials(demo_admin(RESELLER_DEMO), Provider.BLING, credentials)
    if fakes.tiny is not None:
        tiny = TinyCredentials(api_token=SecretStr(fakes.tiny.token), source_of_truth="btrix")
        service.store_credentials(demo_admin(DEMO_TENANTS[0]), Provider.TINY, tiny)


def listen(fakes: ErpFakes, hooks: str) -> None:
    """Point the fake Bling's stock webhooks at the demo reseller's ``/hooks/bling`` (after the seed's own pushes:
    they need no second look)."""
    from localdev.seed import RESELLER_DEMO, demo_admin

    if fakes.bling is not None:
        fakes.bling.configure(webhookUrl=f"{hooks}/bling?tenant={demo_admin(RESELLER_DEMO).tenant_id}")


def _field(name: str) -> str:
    """A shell filter printing ``name`` of a JSON answer (of its first item, for a page)."""
    return f'python3 -c \'import json,sys; d=json.load(sys.stdin); print(d.get("items", [d])[0]["{name}"])\''


def _try_lines(
    api: str, fake_url: str, provider: str, name: str, product: str, id_field: str, told: str = ""
) -> list[str]:
    """Shell lines that push a stock count to the ERP (``product``: the line that keeps a product's JSON in ``$p``),
    show it at the fake, count differently there and pull: the difference is logged as a conflict."""
    auth = '-H "Authorization: Bearer $token"'
    movement = '{"type": "in", "quantity": 12}'  # 12 units arrive
    counted = '{"code": "\'$code\'", "units": 7}'
    return [
        product,
        f'id=$(echo "$p" | {_field(id_field)}); code=$(echo "$p" | {_field("code")})',
        f"curl -s -X POST {api}/inventory/$id/movements {auth} -H 'Content-Type: application/json' -d '{movement}'",
        f"sleep 3; curl -s {fake_url}/_received   # the push: {name}'s count of $code set to BTRIX's",
        f"curl -s -X POST {fake_url}/_stock -d '{counted}'   # someone counts 7 in {name}{told}",
        f"curl -s -X POST {api}/integrations/{provider}/sync {auth}   # the pull now (every 15 min by itself)",
        f"sleep 3; curl -s {api}/integrations/{provider}/logs {auth}   # the conflict: BTRIX's count kept, not 7",
    ]


def lines(api: str, fakes: ErpFakes, reseller_login: list[str], restaurant_login: list[str]) -> list[str]:
    """How to see a push reach each fake ERP and trigger a pull (for the banner; each login puts that tenant's
    ADMIN's token in ``$token``)."""
    from localdev.seed import DEMO_TENANTS, RESELLER_DEMO

    found: list[str] = []
    auth = '-H "Authorization: Bearer $token"'
    if fakes.bling is not None:
        body = '{"kind": "product", "name": "Filtro de óleo", "price": {"amount": "39.90", "currency": "BRL"}}'
        create = f"p=$(curl -s -X POST {api}/products {auth} -H 'Content-Type: application/json' -d '{body}')"
        told = " (its webhook tells BTRIX)"
        tried = _try_lines(api, fakes.bling.url, "bling", "Bling", create, "id", told)
        found += [
            "",
            f"Bling (ERP): {RESELLER_DEMO.name} is connected to the fake Bling (BTRIX owns products and stock; Bling "
            "issues the NF-e of paid orders). A new product and its stock reach Bling; a pull logs Bling's different "
            "count as a conflict:",
            *(f"    {line}" for line in [*reseller_login, *tried]),
        ]
    if fakes.tiny is not None:
        first = f'p=$(curl -s "{api}/inventory?limit=1" {auth})'
        tried = _try_lines(api, fakes.tiny.url, "tiny", "Tiny", first, "productId")
        found += [
            "",
            f"Tiny ERP: {DEMO_TENANTS[0].name} is connected to the fake Tiny (BTRIX owns products and stock). A stock "
            "movement reaches Tiny; a pull logs Tiny's different count as a conflict:",
            *(f"    {line}" for line in [*restaurant_login, *tried]),
        ]
    return found
