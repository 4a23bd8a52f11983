"""Bitrix24 events (form-encoded POSTs): verified by the portal's ``application_token``, routed by ``member_id``.

Bitrix24 signs nothing; each event carries ``auth[application_token]``, which the portal received on install
and repeats on every event. We keep a keyed hash of it per portal (``inbound.routing``) and compare in constant
time. ``ONAPPINSTALL`` is the one event that may come from a portal we do not know yet: it is accepted only with
a one-time connect token that a tenant created (``?connect=<token>`` in the app's handler URL), which pairs
the portal with that tenant. Accepted events go to the bitrix24-outbound FIFO queue, once each, grouped by the
portal's chat they are about (so an operator's messages keep their order).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.core import clock
from chalicelib.core.errors import MalformedRequest, Unauthorized
from chalicelib.core.resources import QueueKind
from chalicelib.inbound.receipts import Delivery, deliver_once
from chalicelib.inbound.request import HookRequest, HookResponse, accepted
from chalicelib.inbound.routing import BitrixPortalRoute, bind_bitrix_portal, bitrix_token_matches, find_bitrix_portal

__all__ = ["INSTALL_EVENT", "PROVIDER", "event_key", "handle", "nest_form"]

PROVIDER = "bitrix24"
INSTALL_EVENT = "ONAPPINSTALL"
_BRACKETS = re.compile(r"\[([^\]]*)\]")
# Bitrix24's deepest fields are about six levels (data[MESSAGES][0][message][params][...]); a form read before the
# application token is checked must not cost a recursion per bracket.
_MAX_DEPTH = 16
_INDEX = re.compile(r"[0-9]{1,9}")


def _listify(value: Any) -> Any:
    # data[MESSAGES][0][...] arrives as indexed keys: a dict whose keys are all indexes is a list.
    if not isinstance(value, dict):
        return value
    items = {k: _listify(v) for k, v in value.items()}
    if items and all(_INDEX.fullmatch(k) for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def nest_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """PHP-style form fields (``data[MESSAGES][0][im][chat_id]=5``) as nested dicts and lists."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        head, _, rest = name.partition("[")
        path = [head, *_BRACKETS.findall("[" + rest)] if rest else [head]
        if len(path) > _MAX_DEPTH:
            raise MalformedRequest(detail=f"the form field {name[:60]!r}… nests deeper than {_MAX_DEPTH} levels")
        node = root
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[path[-1]] = value
    listed: dict[str, Any] = _listify(root)
    return listed


def _refuse(detail: str) -> Unauthorized:
    return Unauthorized(detail=detail, title="Invalid signature", code="invalid-signature")


def _portal(request: HookRequest, event: str, auth: dict[str, Any]) -> BitrixPortalRoute:
    token = str(auth.get("application_token") or "")
    member_id = str(auth.get("member_id") or "")
    if not token or not member_id:
        raise _refuse("auth[application_token] and auth[member_id] are required")
    for kept in (True, False):  # the kept route, then (its token may have changed elsewhere) a fresh read
        route = find_bitrix_portal(member_id, kept=kept)
        if route is not None and bitrix_token_matches(route, token):
            return route
    connect = request.query.get("connect")
    if event == INSTALL_EVENT and connect:
        return bind_bitrix_portal(connect, member_id, str(auth.get("domain") or ""), token)
    raise _refuse("auth[application_token] is not the one this portal installed the app with")


def event_key(route: BitrixPortalRoute, event: str, form: dict[str, Any]) -> str:
    """What identifies an event, which carries no id of its own: the portal and its installation (a reinstall
    brings a new application token), what happened (event, data) and when (ts). A redelivery has all the same."""
    canonical = json.dumps([route.member_id, route.token_hash, event, form.get("ts"), form.get("data")], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _group(route: BitrixPortalRoute, form: dict[str, Any]) -> str:
    """The FIFO group of an event: the Open Lines chat its messages belong to (an operator's replies keep their
    order), else the portal (install and uninstall stay in order)."""
    data = form.get("data")
    # An operator's messages (``MESSAGES``) and a finished dialog (``DATA``) name their chat the same way.
    items = (data.get("MESSAGES") or data.get("DATA")) if isinstance(data, dict) else None
    first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
    chat = first.get("chat")
    chat_id = str(chat.get("id") or "") if isinstance(chat, dict) else ""
    return f"{route.member_id}:{chat_id}"[:128] if chat_id else route.member_id[:128]


def handle(request: HookRequest, context: Any) -> HookResponse:
    """Verify the application token (or pair a new portal on install), record once, enqueue."""
    form = nest_form(parse_qsl(request.text, keep_blank_values=True))
    event = str(form.get("event") or "").upper()
    found = form.get("auth")
    auth: dict[str, Any] = found if isinstance(found, dict) else {}
    route = _portal(request, event, auth)
    body = {
        "type": "bitrix24.event",
        "provider": PROVIDER,
        "event": event,
        "tenantId": route.tenant_id,
        "memberId": route.member_id,
        "domain": route.domain,
        # The tenant's portal channel (``channels``) the portal was paired with; None for older pairings.
        "portalId": route.portal_id,
        "data": form.get("data"),
        # The OAuth tokens of the install (and of each event) for the consumer; the application token stays here.
        "auth": {k: v for k, v in auth.items() if k != "application_token"},
        "ts": form.get("ts"),
        # When BTRIX took it (to the millisecond; ``ts`` has whole seconds): an operator's messages keep this order.
        "receivedAt": clock.now_iso(),
    }
    key = event_key(route, event, form)
    delivery = Delivery(
        key=key, queue=QueueKind.BITRIX24_OUTBOUND, body=body, group_id=_group(route, form), dedup_id=key
    )
    receipt = deliver_once(PROVIDER, delivery, context)
    return accepted({"received": True, "recorded": int(not receipt.duplicate), "duplicates": int(receipt.duplicate)})
