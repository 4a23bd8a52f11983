"""``make run``: the whole of BTRIX on this machine, with no AWS account.

Starts the local stack, provisions it, serves the REST API (:8000) and the provider webhook URLs (:8001),
runs the worker (queues, table stream, schedules), prints the URLs, and on Ctrl-C stops all it started.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from pydantic_settings import BaseSettings, SettingsConfigDict

from localdev.stack import LocalStack, free_port

if TYPE_CHECKING:
    from localdev.seed import DemoLogin

HOST = "127.0.0.1"  # loopback only: nothing here is meant to be reachable from another machine


class RunSettings(BaseSettings):
    """Ports of the local runner (``BTRIX_API_PORT`` …); 0 means any free port."""

    model_config = SettingsConfigDict(env_prefix="BTRIX_", extra="ignore")

    api_port: int = 8000
    hooks_port: int = 8001
    ws_port: int = 8002
    ws_management_port: int = 8003
    dynamodb_port: int = 0
    moto_port: int = 0


def _banner(
    stack: LocalStack, api_port: int, hooks_port: int, ws_port: int, logins: list[DemoLogin], password: str
) -> str:
    api = f"http://{HOST}:{api_port}"
    admins = [
        f"    {login.email:<38} {login.role:<15} {login.tenant}" for login in logins if login.role.endswith("ADMIN")
    ]
    return "\n".join(
        [
            "",
            "BTRIX is running locally (Ctrl-C stops everything)",
            f"  REST API        {api}",
            f"  health          {api}/health",
            f"  API docs        {api}/api-docs   (OpenAPI: {api}/api-docs.json)",
            f"  webhook URLs    http://{HOST}:{hooks_port}/hooks/<provider>",
            f"  live updates    ws://{HOST}:{ws_port}/?token=<access token>",
            f"  DynamoDB Local  {stack.dynamodb_url}",
            f"  moto server     {stack.moto_url}",
            f"  service logs    {stack.log_dir}",
            f"  service PIDs    {' '.join(str(pid) for pid in stack.pids)}",
            "",
            f"Demo logins (password {password}); each tenant also has <role>@<its domain> for every role:",
            *admins,
            "",
            f"  curl -s -X POST {api}/auth/login -H 'Content-Type: application/json' \\",
            f'       -d \'{{"identifier": "{logins[0].email}", "password": "{password}"}}\'',
            "",
        ]
    )


def main() -> int:
    """Run until SIGINT/SIGTERM; returns the exit status."""
    settings = RunSettings()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    stack = LocalStack(settings.dynamodb_port or None, settings.moto_port or None)
    print("Starting DynamoDB Local and moto server ...", flush=True)
    stack.start()
    stack.apply_env()
    # Serve the local stage as chalice local would: with that stage's environment from .chalice/config.json.
    from localdev.gateway import local_config

    for name, value in local_config("local").environment_variables.items():
        os.environ.setdefault(name, value)
    # Webhooks to a receiver on this machine (the local stage alone honours it; the tests set it too).
    os.environ.setdefault("BTRIX_WEBHOOK_ALLOW_LOOPBACK", "true")
    management_port = settings.ws_management_port or free_port()
    os.environ["BTRIX_WEBSOCKET_MANAGEMENT_URL"] = f"http://{HOST}:{management_port}"
    servers: list[object] = []
    worker = None
    websocket = None
    try:
        # Imported only now: the app reads its settings and endpoints from the environment set above.
        from app import app
        from functions import FUNCTION_URLS
        from functions.outbox_publisher import handler as publish
        from localdev import function_urls, gateway
        from localdev.provision import provision
        from localdev.seed import DEMO_PASSWORD, seed
        from localdev.websocket import LocalWebsocketApi
        from localdev.worker import Worker

        provision()
        logins = seed()
        api = gateway.make_server(app, HOST, settings.api_port)
        hooks = function_urls.make_server(HOST, settings.hooks_port, FUNCTION_URLS)
        servers = [api.server, hooks]
        for server in servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()  # type: ignore[attr-defined]
        websocket = LocalWebsocketApi(app, HOST, settings.ws_port, management_port)
        websocket.start()
        worker = Worker(app, publish)
        worker.start()
        api_port = api.server.server_address[1]
        hooks_port = hooks.server_address[1]
        banner = _banner(stack, int(api_port), int(hooks_port), websocket.ws_port, logins, DEMO_PASSWORD)
        print(banner, flush=True)
        stop.wait()
        print("Stopping ...", flush=True)
    finally:
        for server in servers:
            server.shutdown()  # type: ignore[attr-defined]
            server.server_close()  # type: ignore[attr-defined]
        if websocket is not None:
            websocket.stop()
        if worker is not None:
            worker.stop()
            worker.join(timeout=10)
        stack.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
