"""A fake Bitrix24 on loopback: portals with their REST API (CRM contacts, Open Lines connector, chat) and the OAuth
server that refreshes their tokens, for tests and for ``make run`` without a real portal. It speaks every method the
gateway calls (``integrations.bitrix24.client``) with Bitrix24's answers and traps; the methods themselves are in
``localdev/fake_bitrix24_rest.py``.

Same surface as ``localdev.fakes.FakeProvider``: ``url``, ``start()``, ``stop()``, ``received``, ``accepted()``,
``GET /_received`` (every request, with the status it got, and ``refreshes``: how many token refreshes were asked
for), ``DELETE /_received`` and ``POST /_config``.

- REST at ``/<domain>/rest/<method>`` (point ``settings.bitrix24_rest_url`` at ``<url>/{domain}/rest``), JSON or
  form bodies, the access token in ``auth``. Answers ``{"result": …}``, or Bitrix24's errors:
  401 ``expired_token`` / ``invalid_token`` / ``NO_AUTH_FOUND``, 400 for bad arguments.
- OAuth at ``/oauth/token/`` (``settings.bitrix24_oauth_url``), GET or POST, ``grant_type=refresh_token``: each
  refresh token works once (a second use is ``invalid_grant``, as a refresh race would get from Bitrix24).
- ``install(domain, member_id)`` creates a portal and returns the ``auth`` fields of its ``ONAPPINSTALL``;
  ``finish_dialog(domain, connector, line, chat_id)`` closes a chat as an operator does and returns the ``data`` of
  its ``ONIMCONNECTORDIALOGFINISH``.
- ``POST /_config``: ``{"expireTokens": true}`` (the current access tokens answer ``expired_token``),
  ``{"invalidGrant": true}`` (refreshes answer ``invalid_grant``), ``failRate`` / ``failStatus`` / ``failError``
  (a share of REST calls fail, e.g. 503 ``QUERY_LIMIT_EXCEEDED``), ``failNext`` (the next N REST calls fail).
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from chalicelib.inbound.bitrix24 import nest_form
from localdev.fake_base import LoopbackFake
from localdev.fake_bitrix24_rest import METHODS, Portal, Refused, Reply, error

__all__ = ["FakeBitrix24"]

TOKEN_LIFETIME_S = 3600
OAUTH_PATH = "/oauth/token/"


@dataclass
class _Token:
    domain: str
    expires_at: float
    expired: bool = False


class FakeBitrix24(LoopbackFake):
    """Fake Bitrix24 portals and OAuth server on 127.0.0.1 (a free port unless ``port`` is given)."""

    kind = "bitrix24"

    def __init__(self, port: int = 0, seed: int | None = None) -> None:
        self.fail_error = "QUERY_LIMIT_EXCEEDED"
        self.invalid_grant = False
        self.received: list[dict[str, Any]] = []
        self.portals: dict[str, Portal] = {}
        self._tokens: dict[str, _Token] = {}
        self._refresh_tokens: dict[str, str] = {}
        self._refreshes = 0
        self._ids = itertools.count(1001)
        self._init_failures(seed)
        self._lock = threading.RLock()
        self._listen(port, self._handler(), "fake-bitrix24")

    @property
    def rest_url(self) -> str:
        """The value for ``settings.bitrix24_rest_url``."""
        return f"{self.url}/{{domain}}/rest"

    @property
    def oauth_url(self) -> str:
        """The value for ``settings.bitrix24_oauth_url``."""
        return f"{self.url}{OAUTH_PATH}"

    # --- python helpers for tests ---------------------------------------------------------------------------------

    @property
    def refreshes(self) -> int:
        """How many token refreshes were asked for (granted or not)."""
        with self._lock:
            return self._refreshes

    def calls(self, method: str, domain: str | None = None) -> list[dict[str, Any]]:
        """The accepted REST calls of ``method`` (on ``domain``), oldest first."""
        return [
            r
            for r in self.accepted()
            if r.get("method_name") == method and (domain is None or r.get("domain") == domain)
        ]

    def configure(self, **config: Any) -> dict[str, Any]:
        """What ``POST /_config`` does, from Python."""
        with self._lock:
            if config.get("expireTokens"):
                for token in self._tokens.values():
                    token.expired = True
            if "invalidGrant" in config:
                self.invalid_grant = bool(config["invalidGrant"])
            failures = self._configure_failures(config)
            self.fail_error = str(config.get("failError", self.fail_error))
            return {
                **failures,
                "failError": self.fail_error,
                "invalidGrant": self.invalid_grant,
            }

    def install(
        self,
        domain: str,
        member_id: str,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> dict[str, Any]:
        """Create (or reinstall) the portal ``domain`` and return the ``auth`` fields of its ``ONAPPINSTALL``.

        With ``client_id``/``client_secret`` its refreshes must present them; without, any non-empty pair works.
        """
        with self._lock:
            portal = self.portals.get(domain)
            application_token = secrets.token_hex(16)
            if portal is None:
                portal = Portal(domain, member_id, application_token, client_id, client_secret)
                self.portals[domain] = portal
            else:
                portal.member_id, portal.application_token = member_id, application_token
                portal.client_id, portal.client_secret = client_id, client_secret
            access, refresh = self._issue(domain)
        return {
            "access_token": access,
            "expires": str(int(time.time()) + TOKEN_LIFETIME_S),
            "expires_in": str(TOKEN_LIFETIME_S),
            "scope": "crm,imopenlines,imconnector,im,user",
            "domain": domain,
            "server_endpoint": f"{self.url}/rest/",
            "status": "L",
            "client_endpoint": f"{self.url}/{domain}/rest/",
            "member_id": member_id,
            "user_id": "1",
            "refresh_token": refresh,
            "application_token": application_token,
        }

    def finish_dialog(self, domain: str, connector: str, line: str, chat_id: str) -> dict[str, Any]:
        """An operator closes the Open Lines dialog of the connector's chat ``chat_id``: the ``data`` of the
        ``ONIMCONNECTORDIALOGFINISH`` the portal posts (``connector.chat_id`` the connector's chat, ``chat.id`` the
        portal's own), for the app's event handler."""
        with self._lock:
            portal = self.portals[domain]
            internal = portal.chats.get((connector, line, chat_id))
            if internal is None:
                raise KeyError(f"no chat {chat_id} on line {line} of {domain}")
            portal.finished.append(chat_id)
            session = self._new_id()
        dialog = {
            "connector": {"connector_id": connector, "line_id": line, "chat_id": chat_id, "user_id": "0"},
            "session": {"id": str(session), "closed": "Y", "parent_id": "0", "close_term": "10"},
            "chat": {"id": str(internal)},
            "user": {"id": "0"},
        }
        return {"CONNECTOR": connector, "LINE": line, "DATA": [dialog]}

    def portal(self, domain: str) -> Portal:
        """The state of portal ``domain`` (contacts, connectors, chats, messages)."""
        with self._lock:
            return self.portals[domain]

    def _issue(self, domain: str) -> tuple[str, str]:
        access, refresh = secrets.token_hex(24), secrets.token_hex(24)
        self._tokens[access] = _Token(domain, time.time() + TOKEN_LIFETIME_S)
        self._refresh_tokens[refresh] = domain
        return access, refresh

    # --- OAuth ------------------------------------------------------------------------------------------------------

    def _oauth(self, fields: dict[str, str]) -> Reply:
        with self._lock:
            self._refreshes += 1
            if fields.get("grant_type") != "refresh_token":
                return error(400, "unsupported_grant_type", "grant_type must be refresh_token")
            if not fields.get("client_id") or not fields.get("client_secret"):
                return error(401, "invalid_client", "client_id and client_secret are required")
            domain = self._refresh_tokens.get(fields.get("refresh_token", ""))
            if self.invalid_grant or domain is None:
                return error(400, "invalid_grant", "Invalid grant")
            portal = self.portals[domain]
            if portal.client_id is not None and (
                fields["client_id"] != portal.client_id or fields["client_secret"] != portal.client_secret
            ):
                return error(401, "invalid_client", "Wrong client")
            del self._refresh_tokens[fields["refresh_token"]]  # each refresh token works once
            access, refresh = self._issue(domain)
        return 200, {
            "access_token": access,
            "expires": int(time.time()) + TOKEN_LIFETIME_S,
            "expires_in": TOKEN_LIFETIME_S,
            "scope": "crm,imopenlines,imconnector,im,user",
            "domain": "oauth.bitrix.info",
            "server_endpoint": "https://oauth.bitrix.info/rest/",
            "status": "L",
            "client_endpoint": f"https://{domain}/rest/",
            "member_id": portal.member_id,
            "user_id": 1,
            "refresh_token": refresh,
        }

    # --- REST -------------------------------------------------------------------------------------------------------

    def _authorize(self, domain: str, token: str) -> Reply | None:
        if not token:
            return error(401, "NO_AUTH_FOUND", "Wrong authorization data")
        found = self._tokens.get(token)
        if found is None or found.domain != domain:
            return error(401, "invalid_token", "Unable to authenticate user")
        if found.expired or found.expires_at <= time.time():
            return error(401, "expired_token", "The access token provided has expired.")
        return None

    def _rest(self, domain: str, method: str, params: dict[str, Any]) -> Reply:
        with self._lock:
            portal = self.portals.get(domain)
            if portal is None:
                return error(404, "PORTAL_DELETED", f"Portal {domain} was deleted")
            refused = self._authorize(domain, str(params.get("auth") or ""))
            if refused is not None:
                return refused
            if self._failing():
                return error(self.fail_status, self.fail_error, "Failing on purpose (fake Bitrix24)")
            handler = METHODS.get(method)
            if handler is None:
                return error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
            try:
                return handler(self._new_id, portal, params)
            except Refused as refused_call:
                return refused_call.reply

    def _new_id(self) -> int:
        return next(self._ids)

    # --- serving ----------------------------------------------------------------------------------------------------

    def _answer(self, command: str, target: str, body: bytes, headers: dict[str, str]) -> Reply:
        parts = urlsplit(target)
        path = parts.path
        if path == "/_config" and command == "POST":
            return 200, self.configure(**json.loads(body or b"{}"))
        if path == "/_received":
            return 200, self._received_log(command, refreshes=self._refreshes)
        content_type = headers.get("content-type", "")
        if "json" in content_type:
            loaded = json.loads(body or b"{}")
            params: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
        else:
            params = nest_form(parse_qsl(body.decode(), keep_blank_values=True))
        params = {**nest_form(parse_qsl(parts.query, keep_blank_values=True)), **params}
        entry: dict[str, Any] = {"method": command, "path": path}
        if path.rstrip("/") == OAUTH_PATH.rstrip("/"):
            status, answer = self._oauth({k: str(v) for k, v in params.items()})
            entry.update(kind="oauth", refreshes=self.refreshes)
            shown = {k: v for k, v in params.items() if k not in ("client_secret", "refresh_token")}
        else:
            segments = path.strip("/").split("/")
            if len(segments) != 3 or segments[1] != "rest":
                status, answer = error(404, "NOT_FOUND", f"no fake for {path}")
            else:
                domain, method = segments[0], segments[2].removesuffix(".json")
                status, answer = self._rest(domain, method, params)
                entry.update(kind="rest", domain=domain, method_name=method)
            shown = {k: v for k, v in params.items() if k != "auth"}
        entry.update(status=status, body=shown, answer=answer)
        with self._lock:
            self.received.append(entry)
        return status, answer

    def _respond(
        self, method: str, target: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        status, answer = self._answer(method, target, body, headers)
        return status, json.dumps(answer).encode(), {"Content-Type": "application/json"}
