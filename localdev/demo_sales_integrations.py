"""Billy.dk and Google Calendar in ``make run``: a fake Billy and a fake Google, and the demo sales company connected
to both, so that completing a sale makes its invoice and scheduling one makes its calendar event.

When the fake providers are on and no real Billy (``BTRIX_BILLY_API_URL``) or Google (``BTRIX_GOOGLE_CALENDAR_API_URL``)
is configured, the runner starts the fakes and points the settings at them (before the app reads its settings); the
consent's callback is this API's ``/integrations/google-calendar/callback``. After seeding, and before the worker
starts, the sales company (``SALES_DEMO``) is connected: to a Billy company of its name on the fake, and to the fake
Google account's calendar by a refresh token of BTRIX's local OAuth client (what a consent would have left). The
seeded sales' workflow actions then reach the fakes: the completed sale gets its invoice, the scheduled one its
event.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from localdev.fake_billy import FakeBilly
from localdev.fake_google import FakeGoogle

__all__ = ["SalesFakes", "connect", "lines", "start_fakes"]


@dataclass(frozen=True)
class SalesFakes:
    """The fakes started for the sales integrations (None: a real provider is configured, or fakes are off)."""

    billy: FakeBilly | None
    google: FakeGoogle | None

    def stop(self) -> None:
        """Stop what was started."""
        for fake in (self.billy, self.google):
            if fake is not None:
                fake.stop()


def start_fakes(enabled: bool, billy_port: int, google_port: int, api_url: str) -> SalesFakes:
    """Start the fake Billy and the fake Google unless disabled or configured, and point the settings at them."""
    from localdev.provision import local_webhook_secrets

    billy = google = None
    if enabled and not os.environ.get("BTRIX_BILLY_API_URL"):
        billy = FakeBilly(billy_port).start()
        os.environ["BTRIX_BILLY_API_URL"] = billy.api_url
    if enabled and not os.environ.get("BTRIX_GOOGLE_CALENDAR_API_URL"):
        app = json.loads(local_webhook_secrets()["google-oauth-app"])
        google = FakeGoogle(google_port, client_id=app["clientId"], client_secret=app["clientSecret"]).start()
        os.environ.update(google.settings_env())
        os.environ.setdefault("BTRIX_GOOGLE_OAUTH_REDIRECT_URL", f"{api_url}/integrations/google-calendar/callback")
    return SalesFakes(billy, google)


def connect(fakes: SalesFakes) -> None:
    """Connect the demo sales company to the fakes (replacing what an earlier run connected)."""
    from pydantic import SecretStr

    from chalicelib.integrations import service
    from chalicelib.integrations.billy.credentials import BillyCredentials
    from chalicelib.integrations.credentials import Provider
    from chalicelib.integrations.google_calendar.credentials import GoogleCalendarCredentials
    from localdev.seed import SALES_DEMO, demo_admin

    admin = demo_admin(SALES_DEMO)
    if fakes.billy is not None:
        token = fakes.billy.add_company(SALES_DEMO.name, currency=SALES_DEMO.currency)
        service.store_credentials(admin, Provider.BILLY, BillyCredentials(access_token=SecretStr(token)))
    if fakes.google is not None:
        refresh = fakes.google.issue_refresh_token(client_id=str(fakes.google.client_id))
        credentials = GoogleCalendarCredentials(refresh_token=SecretStr(refresh), account=fakes.google.account)
        service.store_credentials(admin, Provider.GOOGLE_CALENDAR, credentials)


def lines(api: str, fakes: SalesFakes) -> list[str]:
    """How to try the integrations (for the banner)."""
    if fakes.billy is None and fakes.google is None:
        return []
    auth = '-H "Authorization: Bearer $ADMIN"'
    found: list[str] = ["Billy.dk and Google Calendar (the sales company is connected to the fakes):"]
    if fakes.billy is not None:
        found += [
            f"    curl -s {fakes.billy.url}/_invoices          # a sale moved to COMPLETED is invoiced here",
            f"    curl -s -X POST {fakes.billy.url}/_invoices/<id>/pay   # the customer pays it, then:",
            f"    curl -s -X POST {api}/integrations/billy/sync {auth}   # (every 15 min by itself): the sale is paid",
        ]
    if fakes.google is not None:
        found += [
            f"    curl -s {fakes.google.url}/_events            # a sale moved to SCHEDULED is an event here",
            f"    curl -s -X POST {api}/integrations/google-calendar/connect {auth}   # consent again: open its url",
        ]
    return [*found, ""]
