"""The ERPs in ``make run``: a fake Bling and a fake Tiny, the demo reseller (``RESELLER_DEMO``, a Brazilian parts
distributor) connected to Bling with BTRIX as the source of truth and the NF-e issued by Bling, and the demo
restaurant (Cantina da Nonna) connected to Tiny with Tiny as the source of truth for stock.

When the fake providers are on and no real ERP is configured (``BTRIX_BLING_API_URL``, ``BTRIX_TINY_API_URL``), the
runner starts the fakes and points the settings at them (before the app reads its settings); Bling's consent
redirect is this API's ``/integrations/bling/callback``. After seeding, the tenants are connected: the reseller by a
refresh token of BTRIX's local Bling app (what a consent would have left), the restaurant by the fake Tiny company's
API token, so catalog changes, stock movements and paid orders reach the fakes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from localdev.fake_bling import FakeBling
from localdev.fake_tiny import FakeTiny

__all__ = ["ErpFakes", "connect", "lines", "start_fakes"]


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
    from chalicelib.integrations.models import BlingCredentials, Provider, TinyCredentials
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
        tiny = TinyCredentials(api_token=SecretStr(fakes.tiny.token), source_of_truth="erp")
        service.store_credentials(demo_admin(DEMO_TENANTS[0]), Provider.TINY, tiny)


def lines(api: str, fakes: ErpFakes, login: list[str]) -> list[str]:
    """How to try the ERP sync (for the banner; ``login``: the lines that put the reseller ADMIN's token in
    ``$token``)."""
    found: list[str] = []
    auth = '-H "Authorization: Bearer $token"'
    if fakes.bling is not None:
        from localdev.seed import RESELLER_DEMO

        body = '{"kind": "product", "name": "Filtro de óleo", "price": {"amount": "39.90", "currency": "BRL"}}'
        found += [
            f"Bling (ERP): {RESELLER_DEMO.name} is connected to the fake Bling (BTRIX owns products and stock, Bling",
            "issues the NF-e of paid orders); as its ADMIN:",
            *(f"    {line}" for line in login),
            f"    curl -s -X POST {api}/products {auth} -H 'Content-Type: application/json' -d '{body}'",
            f"    curl -s {fakes.bling.url}/_received                    # what the fake Bling received",
            f"    curl -s -X POST {api}/integrations/bling/sync {auth}   # the stock pull (every 15 min by itself)",
            f"    curl -s {api}/integrations/bling/logs {auth}           # what went to Bling, conflicts included",
        ]
    if fakes.tiny is not None:
        found += [
            "Tiny ERP: Cantina da Nonna is connected to the fake Tiny (Tiny owns stock: the 15-minute pull sets",
            f"BTRIX's counts to Tiny's); what it received: curl -s {fakes.tiny.url}/_received",
        ]
    return found
