"""``make run``: the whole of BTRIX on this machine, with no AWS account.

Starts the local stack, provisions it, seeds the demo, serves the provider webhook URLs (:8001), runs the worker
(queues, table stream, schedules), starts fake providers (Twilio, Meta, SES, Web Push, Bitrix24, Stripe,
MercadoPago, Billy, Google; :8010-8018; iFood :8030; Rappi :8031) for the providers nothing real is configured
for, connects the sales company's Billy and Google Calendar (``localdev.demo_sales_integrations``), the restaurant's
iFood and Rappi stores (``localdev.demo_delivery``), the WhatsApp <-> Bitrix24 gateway's demo
number and portal (``localdev.demo_gateway``) and the demo tenants' payment accounts, makes a payment link for the
restaurant's waiting order (``localdev.demo_payments``), waits until the demo's own events are handled,
and only then serves the REST API
(:8000, bound at once so a taken port fails early) and prints the banner: when ``/health`` answers, the demo is
ready. It also writes the ready file (``BTRIX_READY_FILE``, default ``.cache/make-run.ready.json``) with the URLs,
for scripts; it is removed on stop.

Output: every log line in full (JSON) goes to ``.cache/logs/run-<time>-<pid>.log``; the terminal gets the progress,
the banner, one short line per request and the warnings and errors (``localdev.logs``; once stopping, errors go to the
file only: the services going away are no news).

Ctrl-C (or SIGTERM) stops everything it started at any moment, during start-up too; a second one exits at once
(DynamoDB Local and moto die with this process).

The banner is made of sections (``banner_section``, ``localdev.banner``): a capability that adds something to try
registers one. The fakes, and the demo's connections to them: ``localdev.run_fakes``.
The restaurant's GA4 stream (a fake on :8041) and Meta Pixel: ``localdev.demo_conversions``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from localdev.banner import Running, banner, shop_product_code
from localdev.fakes import FakeKind, FakeProvider
from localdev.logs import RunLogs, say
from localdev.run_fakes import (
    HOST,
    connect_demo_gateway,
    connect_demo_payments,
    fake_credentials,
    on_port,
    port_or_free,
    start_fakes,
)
from localdev.stack import CACHE, LocalStack, free_port

if TYPE_CHECKING:
    from localdev.demo_conversions import ConversionsDemo
    from localdev.demo_delivery import DeliveryDemo
    from localdev.demo_erp import ErpFakes
    from localdev.demo_sales_integrations import SalesFakes
    from localdev.demo_shipping import ShippingDemo
    from localdev.fake_bitrix24 import FakeBitrix24
    from localdev.fake_mercadopago import FakeMercadoPago
    from localdev.fake_pagarme import FakePagarme
    from localdev.fake_stripe import FakeStripe

__all__ = ["RunSettings", "main"]

_SETTLE_TIMEOUT_S = 90.0


class RunSettings(BaseSettings):
    """Ports of the local runner (``BTRIX_API_PORT`` …; 0 means any free port) and its ready file.

    The fakes' ports are fixed so that the banner's ``curl …/_received`` lines stay the same from run to run; a
    fake whose port another program holds gets a free one (the terminal says so).
    """

    model_config = SettingsConfigDict(env_prefix="BTRIX_", extra="ignore")

    api_port: int = 8000
    hooks_port: int = 8001
    ws_port: int = 8002
    ws_management_port: int = 8003
    dynamodb_port: int = 0
    moto_port: int = 0
    # Fake providers for the channels with no provider configured (BTRIX_FAKE_PROVIDERS=false: outbox mode).
    fake_providers: bool = True
    fake_twilio_port: int = 8010
    fake_meta_port: int = 8011
    fake_ses_port: int = 8012
    fake_webpush_port: int = 8013
    fake_bitrix24_port: int = 8014
    fake_stripe_port: int = 8015
    fake_mercadopago_port: int = 8016
    fake_billy_port: int = 8017
    fake_google_port: int = 8018
    fake_ifood_port: int = 8030
    fake_rappi_port: int = 8031
    fake_llm_port: int = 8019
    fake_melhorenvio_port: int = 8026
    fake_correios_port: int = 8036
    fake_jadlog_port: int = 8037
    fake_pagarme_port: int = 8028
    fake_ga4_port: int = 8041
    fake_bling_port: int = 8024
    fake_tiny_port: int = 8025
    ready_file: Path = CACHE / "make-run.ready.json"


# --- start, wait, stop -------------------------------------------------------------------------------------------


def _write_ready(path: Path, run: Running) -> None:
    """The ready file, written whole (a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ready = {
        "pid": os.getpid(),
        "api": run.api,
        "hooks": run.hooks,
        "websocket": run.websocket,
        "dynamodb": run.stack.dynamodb_url,
        "moto": run.stack.moto_url,
        "servicePids": run.stack.pids,
        "fakes": run.fakes,
        "logFile": str(run.log_file),
    }
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(ready, indent=2))
    partial.replace(path)


def _remove_ready(path: Path) -> None:
    """Remove the ready file if this process wrote it (another run's is left alone)."""
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # wherever start-up is (a wait, a request, the seed), unwind to the clean-up


def _hurry(signum: int, frame: FrameType | None) -> None:
    say("Stopping now.")
    os._exit(130)  # a second Ctrl-C during the clean-up: DynamoDB Local and moto die with this process


class _Started:
    """What has been started so far, stopped in reverse order whatever the moment."""

    def __init__(self) -> None:
        self.stack: LocalStack | None = None
        self.fakes: dict[FakeKind, FakeProvider] = {}
        self.bitrix: FakeBitrix24 | None = None
        self.paying: tuple[FakeStripe | None, FakeMercadoPago | None, FakePagarme | None] = (None, None, None)
        self.sales_fakes: SalesFakes | None = None
        self.shipping: ShippingDemo | None = None
        self.delivery: DeliveryDemo | None = None
        self.conversions: ConversionsDemo | None = None
        self.erp: ErpFakes | None = None
        self.llm: Any = None
        self.bound: list[Any] = []  # servers with a socket (closed at the end)
        self.serving: list[Any] = []  # servers whose loop runs (shut down first)
        self.websocket: Any = None
        self.worker: Any = None

    def serve(self, server: Any) -> None:
        self.serving.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def _stop_worker(self) -> None:
        self.worker.stop()
        self.worker.join(timeout=10)  # the step under way finishes

    def stop(self) -> None:
        """Everything at once: DynamoDB Local and moto are signalled first, the servers' loops (each polls for
        its shutdown every half second) and the worker are stopped side by side, then the stack is waited for."""
        from concurrent.futures import ThreadPoolExecutor

        if self.stack is not None:
            self.stack.terminate()
        stops: list[Callable[[], None]] = [server.shutdown for server in self.serving]
        stops += [fake.stop for fake in self.fakes.values()]
        stops += [self.bitrix.stop] if self.bitrix is not None else []
        stops += [fake.stop for fake in self.paying if fake is not None]
        stops += [self.sales_fakes.stop] if self.sales_fakes is not None else []
        stops += [self.shipping.stop] if self.shipping is not None else []
        stops += [self.delivery.stop] if self.delivery is not None else []
        stops += [self.conversions.stop] if self.conversions is not None else []
        stops += [self.erp.stop] if self.erp is not None else []
        stops += [self.llm.stop] if self.llm is not None else []
        stops += [self.websocket.stop] if self.websocket is not None else []
        if self.worker is not None:
            stops.append(self._stop_worker)
        with ThreadPoolExecutor(max_workers=max(1, len(stops))) as pool:
            for _ in pool.map(lambda stop: stop(), stops):
                pass
        for server in self.bound:
            server.server_close()
        if self.stack is not None:
            self.stack.stop()


def main() -> int:
    """Run until SIGINT/SIGTERM; returns the exit status."""
    settings = RunSettings()
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    # Serve the local stage as chalice local would: with that stage's environment from .chalice/config.json, set
    # before anything reads the settings (the log level too).
    from localdev.gateway import local_config

    for name, value in local_config("local").environment_variables.items():
        os.environ.setdefault(name, value)
    # Webhooks to a receiver on this machine (the local stage alone honours it; the tests set it too).
    os.environ.setdefault("BTRIX_WEBHOOK_ALLOW_LOOPBACK", "true")
    logs = RunLogs(CACHE / "logs")
    logs.install()
    started = _Started()
    try:
        say("Starting DynamoDB Local and moto server ...")
        started.stack = LocalStack(settings.dynamodb_port or None, settings.moto_port or None)
        started.stack.start()
        started.stack.apply_env()
        management_port = settings.ws_management_port or free_port()
        os.environ["BTRIX_WEBSOCKET_MANAGEMENT_URL"] = f"http://{HOST}:{management_port}"
        # Known before the app reads its settings: the Bitrix24 app's handler URL is this server's /hooks/bitrix24,
        # the payment links' base is this API's /pay, Google's consent returns to this API's callback.
        hooks_port = settings.hooks_port or free_port()
        api_port = settings.api_port or free_port()
        started.fakes = start_fakes(settings)
        from localdev import function_urls, gateway
        from localdev.demo_gateway import start_fake_bitrix24
        from localdev.demo_payments import start_fakes as start_payment_fakes

        started.bitrix = on_port(
            lambda p: start_fake_bitrix24(settings.fake_providers, p, f"http://{HOST}:{hooks_port}/hooks/bitrix24"),
            settings.fake_bitrix24_port,
            "the fake bitrix24",
        )
        started.paying = start_payment_fakes(
            settings.fake_providers,
            port_or_free(settings.fake_stripe_port, "the fake stripe"),
            port_or_free(settings.fake_mercadopago_port, "the fake mercadopago"),
            port_or_free(settings.fake_pagarme_port, "the fake pagarme"),
            f"http://{HOST}:{api_port}",
            f"http://{HOST}:{hooks_port}/hooks",
        )
        from localdev import demo_sales_integrations

        sales_fakes = started.sales_fakes = demo_sales_integrations.start_fakes(
            settings.fake_providers,
            port_or_free(settings.fake_billy_port, "the fake billy"),
            port_or_free(settings.fake_google_port, "the fake google"),
            f"http://{HOST}:{api_port}",
        )
        from localdev import demo_shipping

        started.shipping = demo_shipping.start_fake(
            settings.fake_providers,
            port_or_free(settings.fake_melhorenvio_port, "the fake melhorenvio"),
            f"http://{HOST}:{api_port}",
            port_or_free(settings.fake_correios_port, "the fake correios"),
            port_or_free(settings.fake_jadlog_port, "the fake jadlog"),
        )
        from localdev import demo_delivery

        delivery = started.delivery = demo_delivery.start_fake(
            settings.fake_providers,
            port_or_free(settings.fake_ifood_port, "the fake ifood"),
            port_or_free(settings.fake_rappi_port, "the fake rappi"),
        )
        from localdev import demo_conversions

        conversions = started.conversions = demo_conversions.start_fake(
            settings.fake_providers, port_or_free(settings.fake_ga4_port, "the fake ga4")
        )
        from localdev import demo_erp

        started.erp = demo_erp.start_fakes(
            settings.fake_providers,
            port_or_free(settings.fake_bling_port, "the fake bling"),
            port_or_free(settings.fake_tiny_port, "the fake tiny"),
            f"http://{HOST}:{api_port}",
        )
        from localdev.demo_assistant import start_fake_llm

        started.llm = on_port(
            lambda p: start_fake_llm(settings.fake_providers, p), settings.fake_llm_port, "the fake llm"
        )
        # Imported only now: the app reads its settings and endpoints from the environment set above.
        from app import app
        from functions import FUNCTION_URLS
        from functions.outbox_publisher import handler as publish
        from localdev.provision import provision
        from localdev.seed import DEMO_PASSWORD, seed
        from localdev.websocket import LocalWebsocketApi
        from localdev.worker import Worker

        # Bound now, so that a taken port fails before the long part; the API is served last, once the demo is
        # ready (what /health answering means).
        api = gateway.make_server(app, HOST, api_port)
        started.bound.append(api.server)
        hooks_server = function_urls.make_server(HOST, hooks_port, FUNCTION_URLS)
        started.bound.append(hooks_server)
        say("Provisioning the table, queues, event bus and secrets ...")
        provision()
        fake_credentials(started.fakes)
        say("Seeding the demo tenants ...")
        webpush = started.fakes.get("webpush")
        logins = seed(push_service=webpush.url if webpush is not None else None)
        # Before the worker starts: the seeded sales' invoice and calendar actions then find the fakes connected.
        demo_sales_integrations.connect(sales_fakes)
        demo_shipping.connect(started.shipping, f"http://{HOST}:{hooks_port}/hooks")
        demo_delivery.connect(delivery, f"http://{HOST}:{hooks_port}/hooks")
        demo_conversions.connect(conversions, started.fakes.get("meta"))
        demo_erp.connect(started.erp)
        started.serve(hooks_server)
        started.websocket = LocalWebsocketApi(app, HOST, settings.ws_port, management_port)
        started.websocket.start()
        started.worker = Worker(app, publish)
        started.worker.start()
        demo = None
        if started.bitrix is not None:
            say("Connecting the WhatsApp <-> Bitrix24 demo ...")
            demo = connect_demo_gateway(started.fakes, started.bitrix)
        payments = None
        if any(fake is not None for fake in started.paying):
            say("Connecting the payments demo ...")
            payments = connect_demo_payments(*started.paying, f"http://{HOST}:{hooks_port}/hooks")
        say("Handling the demo's events ...")
        if not started.worker.wait_idle(_SETTLE_TIMEOUT_S):
            say(f"  the worker was still busy after {_SETTLE_TIMEOUT_S:.0f}s; starting anyway")
        demo_erp.listen(started.erp, f"http://{HOST}:{hooks_port}/hooks")  # once the seed's pushes are in
        started.serve(api.server)
        fakes = {str(kind): fake.url for kind, fake in started.fakes.items()}
        if started.bitrix is not None:
            fakes["bitrix24"] = started.bitrix.url
        fakes.update({fake.kind: fake.url for fake in started.paying if fake is not None})
        fakes.update({fake.kind: fake.url for fake in (sales_fakes.billy, sales_fakes.google) if fake is not None})
        if started.llm is not None:
            fakes["llm"] = started.llm.url
        if started.shipping is not None:
            fakes.update(started.shipping.urls())
        fakes.update({fake.kind: fake.url for fake in (delivery.ifood, delivery.rappi) if fake is not None})
        if conversions.ga4 is not None:
            fakes["ga4"] = conversions.ga4.url
        fakes.update(started.erp.urls())
        running = Running(
            api=f"http://{HOST}:{api.server.server_address[1]}",
            hooks=f"http://{HOST}:{hooks_port}/hooks",
            websocket=f"ws://{HOST}:{started.websocket.ws_port}",
            stack=started.stack,
            logins=logins,
            password=DEMO_PASSWORD,
            log_file=logs.path,
            fakes=fakes,
            bitrix=started.bitrix,
            demo=demo,
            payments=payments,
            sales_fakes=started.sales_fakes,
            shipping=started.shipping,
            delivery=delivery,
            conversions=conversions,
            erp=started.erp,
            shop_product_code=shop_product_code() if demo is not None else None,
        )
        say(banner(running))
        _write_ready(settings.ready_file, running)
        threading.Event().wait()  # until Ctrl-C or SIGTERM raises KeyboardInterrupt here
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, _hurry)
        signal.signal(signal.SIGTERM, _hurry)
        say("Stopping ...")
        logs.quiet()
        _remove_ready(settings.ready_file)
        started.stop()
        logs.uninstall()
    say("Stopped.")
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything started was stopped above; the interpreter's own teardown (collecting the whole application's
    # objects) takes seconds more on a busy machine, for nothing.
    os._exit(status)
