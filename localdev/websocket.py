"""The local stand-in for an API Gateway websocket API: clients connect to ``ws://127.0.0.1:8002/?token=…``;
``$connect``, messages (``$default``) and ``$disconnect`` go to the app's own websocket handlers, with events
of API Gateway's shape. A second small HTTP server stands in for the management API
(``POST/GET/DELETE /@connections/{id}``), so the application pushes with the same boto3 client it uses in AWS.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from chalice.app import Chalice
from chalice.local import LambdaContext
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from localdev.logs import invoke

__all__ = ["LocalWebsocketApi"]

_STAGE = "local"


class LocalWebsocketApi:
    """Websocket endpoint + management endpoint for ``app`` on loopback."""

    def __init__(self, app: Chalice, host: str, ws_port: int, management_port: int) -> None:
        self.app = app
        self.host = host
        self._handlers = {key: app.handler_map[config.name] for key, config in app.websocket_handlers.items()}
        self._sockets: dict[str, ServerConnection] = {}
        self._connected_at: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self.server: Server = serve(
            self._converse, host, ws_port, process_request=self._connect, compression=None, server_header=None
        )
        self.ws_port = int(self.server.socket.getsockname()[1])
        self.management = ThreadingHTTPServer((host, management_port), self._management_handler())
        self.management_port = int(self.management.server_address[1])

    @property
    def management_url(self) -> str:
        """What ``BTRIX_WEBSOCKET_MANAGEMENT_URL`` points at."""
        return f"http://{self.host}:{self.management_port}"

    def _event(self, route_key: str, connection_id: str, **extra: Any) -> dict[str, Any]:
        event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE")
        return {
            "requestContext": {
                "routeKey": route_key,
                "eventType": event_type,
                "connectionId": connection_id,
                "domainName": f"{self.host}:{self.ws_port}",
                "stage": _STAGE,
                "apiId": "local",
                "requestId": str(uuid.uuid4()),
                "connectedAt": int(time.time() * 1000),
            },
            "isBase64Encoded": False,
            **extra,
        }

    def _call(self, route_key: str, event: dict[str, Any]) -> dict[str, Any]:
        handler = self._handlers.get(route_key)
        if handler is None:
            return {"statusCode": 200}
        context = LambdaContext(function_name=f"websocket-{route_key}", memory_size=512, max_runtime_ms=29_000)
        result = invoke(handler, event, context)
        return result if isinstance(result, dict) else {"statusCode": 200}

    def _connect(self, connection: ServerConnection, request: Request) -> Response | None:
        connection_id = secrets.token_urlsafe(9) + "="
        query = dict(parse_qsl(urlsplit(request.path).query)) or None
        result = self._call("$connect", self._event("$connect", connection_id, queryStringParameters=query))
        status = int(result.get("statusCode", 200))
        if status != 200:
            return connection.respond(status, "Unauthorized\n" if status == 401 else "Forbidden\n")
        connection.btrix_connection_id = connection_id  # type: ignore[attr-defined]
        with self._lock:
            self._sockets[connection_id] = connection
            self._connected_at[connection_id] = datetime.now(UTC)
        return None

    def _converse(self, connection: ServerConnection) -> None:
        connection_id: str = connection.btrix_connection_id  # type: ignore[attr-defined]
        try:
            for message in connection:
                body = message if isinstance(message, str) else message.decode()
                self._call("$default", self._event("$default", connection_id, body=body))
        except ConnectionClosed:
            pass  # the client went away; $disconnect follows
        finally:
            with self._lock:
                self._sockets.pop(connection_id, None)
                self._connected_at.pop(connection_id, None)
            self._call("$disconnect", self._event("$disconnect", connection_id))

    def _management_handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class ManagementHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _connection(self) -> tuple[str, ServerConnection | None]:
                connection_id = unquote(urlsplit(self.path).path.rsplit("/", 1)[-1])
                with api._lock:
                    return connection_id, api._sockets.get(connection_id)

            def _answer(self, status: int, body: dict[str, Any] | None = None, error: str | None = None) -> None:
                raw = json.dumps(body or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if error:
                    self.send_header("x-amzn-ErrorType", error)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _gone(self) -> None:
                self._answer(410, {"message": "Gone"}, "GoneException")

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("content-length") or 0))
                _, socket = self._connection()
                if socket is None:
                    self._gone()
                    return
                try:
                    socket.send(data.decode())
                except ConnectionClosed:
                    self._gone()
                    return
                self._answer(200)

            def do_DELETE(self) -> None:
                _, socket = self._connection()
                if socket is None:
                    self._gone()
                    return
                socket.close()
                self._answer(204)

            def do_GET(self) -> None:
                connection_id, socket = self._connection()
                if socket is None:
                    self._gone()
                    return
                at = api._connected_at[connection_id].strftime("%Y-%m-%dT%H:%M:%SZ")
                self._answer(200, {"ConnectedAt": at, "LastActiveAt": at, "Identity": {"SourceIp": "127.0.0.1"}})

            def log_message(self, format: str, *args: Any) -> None:
                return  # pushes are frequent; the websocket server logs connections already

        return ManagementHandler

    def start(self) -> None:
        """Serve both endpoints in background threads."""
        threading.Thread(target=self.server.serve_forever, name="ws", daemon=True).start()
        threading.Thread(target=self.management.serve_forever, name="ws-management", daemon=True).start()

    def stop(self) -> None:
        """Stop both servers (open connections are closed, so their $disconnect runs)."""
        self.server.shutdown()
        self.management.shutdown()
        self.management.server_close()
