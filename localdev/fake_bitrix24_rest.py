"""The fake Bitrix24's portals and the REST methods the gateway calls on them (CRM contacts, the Open Lines
connector, chat), with Bitrix24's answers and errors: what ``FakeBitrix24`` (the server, its OAuth and token checks)
dispatches to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["METHODS", "Method", "Portal", "Refused", "Reply", "error"]

Reply = tuple[int, Any]


@dataclass
class Portal:
    """One portal's state."""

    domain: str
    member_id: str
    application_token: str
    client_id: str | None
    client_secret: str | None
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    connectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: dict[tuple[str, str], bool] = field(default_factory=dict)
    chats: dict[tuple[str, str, str], int] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    system_messages: list[dict[str, Any]] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)


def error(status: int, code: str, description: str) -> Reply:
    return status, {"error": code, "error_description": description}


class Refused(Exception):
    """A REST method's error answer (raised by the method, answered by ``_rest``)."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(code)
        self.reply = error(status, code, description)


def _argument(name: str) -> Refused:
    return Refused(400, "ERROR_ARGUMENT", f"Argument '{name}' is null or empty")


def _digits(value: Any) -> str:
    return "".join(c for c in str(value or "") if c.isdigit())


# A REST method: (a new id, the portal, the call's params) → the answer (or ``Refused``).
Method = Callable[[Callable[[], int], Portal, dict[str, Any]], Reply]


def _profile(new_id: Callable[[], int], portal: Portal, params: dict[str, Any]) -> Reply:
    return 200, {"result": {"ID": "1", "ADMIN": True, "NAME": "Ana", "LAST_NAME": "Admin", "PERSONAL_GENDER": ""}}


def _contact_add(new_id: Callable[[], int], portal: Portal, params: dict[str, Any]) -> Reply:
    fields = params.get("fields") or params.get("FIELDS")
    if not isinstance(fields, dict):
        raise _argument("fields")
    contact_id = new_id()
    phones = fields.get("PHONE") or []
    if isinstance(phones, dict):
        phones = list(phones.values())
    portal.contacts[contact_id] = {
        "ID": str(contact_id),
        "NAME": fields.get("NAME"),
        "LAST_NAME": fields.get("LAST_NAME"),
        "PHONE": [{"VALUE": p.get("VALUE"), "VALUE_TYPE": p.get("VALUE_TYPE", "WORK")} for p in phones],
        "SOURCE_ID": fields.get("SOURCE_ID"),
    }
    return 200, {"result": contact_id}


def _matching_contacts(portal: Portal, phones: list[Any]) -> list[int]:
    wanted = {_digits(p) for p in phones if _digits(p)}
    return [
        contact_id
        for contact_id, contact in portal.contacts.items()
        if any(_digits(p.get("VALUE")) in wanted for p in contact["PHONE"])
    ]


def _duplicate_findbycomm(new_id: Callable[[], int], portal: Portal, params: dict[str, Any]) -> Reply:
    if str(params.get("type") or params.get("TYPE") or "").upper() != "PHONE":
        return error(400, "ERROR_ARGUMENT", "Only PHONE is supported by the fake")
    values = params.get("values") or params.get("VALUES") or []
    values = list(values.values()) if isinstance(values, dict) else list(values)
    found = _matching_contacts(portal, values)
    # Bitrix24 answers an empty array when nothing matches, else the ids per entity type.
    return 200, {"result": {"CONTACT": found} if found else []}


def _contact_list(new_id: Callable[[], int], portal: Portal, params: dict[str, Any]) -> Reply:
    filters = params.get("filter") or params.get("FILTER") or {}
    phone = filters.get("PHONE") if isinstance(filters, dict) else None
    ids = _matching_contacts(portal, [phone]) if phone else list(portal.contacts)
    contacts = [portal.contacts[i] for i in ids]
    return 200, {"result": contacts, "total": len(contacts)}


def _contact_get(new_id: Callable[[], int], portal: Portal, params: dict[str, Any]) -> Reply:
    contact = portal.contacts.get(int(_digits(params.get("id") or params.get("ID")) or 0))
    if contact is None:
        return error(400, "NOT_FOUND", "Not found")
    return 200, {"result": contact}


def _contact_delete(new_id: Callable[[], int], portal: Portal, params: dict[str, Any]) -> Reply:
    contact = portal.contacts.pop(int(_digits(params.get("id") or params.get("ID")) or 0), None)
    if contact is None:
        return error(400, "NOT_FOUND", "Not found")
    return 200, {"result": True}


def _register(new_id: Callable[[], int], portal: Portal, params: dict[str, Any]) -> Reply:
    for name in ("ID", "NAME", "PLACEMENT_HANDLER"):
        if not params.get(name):
            raise _argument(name)
    icon = params.get("ICON")
    if not isinstance(icon, dict) or not icon.get("DATA_IMAGE"):
        raise _argument("ICON")
    connector_id = str(params["ID"])
    if connector_id != connector_id.lower():
        return error(400, "ERROR_ARGUMENT", "The connector ID must be lower case")
    portal.connectors[connector_id] = {"NAME": params["NAME"], "ICON": icon, "HANDLER": params["PLACEMENT_HANDLER"]}
    return 200, {"result": True}


def _unregister(new_id: Callable[[], int], portal: Portal, params: dict[str, Any]) -> Reply:
    portal.connectors.pop(str(params.get("ID") or ""), None)
    return 200, {"result": True}


def _named_line(params: dict[str, Any]) -> tuple[str, str]:
    """The (connector, line) a call names; both are required."""
    connector, line = str(params.get("CONNECTOR") or ""), str(params.get("LINE") or "")
    if not connector:
        raise _argument("CONNECTOR")
    if not line:
        raise _argument("LINE")
    return connector, line


def _activate(new_id: Callable[[], int], portal: Portal, params: dict[str, Any]) -> Reply:
    connector, line = _named_line(params)
    if connector not in portal.connectors:
        return error(400, "IMCONNECTOR_NOT_SPECIFIED_CORRECT_CONNECTOR", "Connector not specified")
    active = str(params.get("ACTIVE", "1")) in ("1", "Y", "True", "true")
    portal.lines[(connector, line)] = active
    return 200, {"result": True}


def _status(new_id: Callable[[], int], portal: Portal, params: dict[str, Any]) -> Reply:
    connector, line = str(params.get("CONNECTOR") or ""), str(params.get("LINE") or "")
    active = portal.lines.get((connector, line), False)
    answer = {"LINE": line, "CONNECTOR": connector, "ERROR": False, "CONFIGURED": active, "STATUS": active}
    return 200, {"result": answer}


def _line_of(portal: Portal, params: dict[str, Any]) -> tuple[str, str]:
    connector, line = _named_line(params)
    if connector not in portal.connectors:
        raise Refused(400, "IMCONNECTOR_NO_CORRECT_PROVIDER", "Could not find a suitable provider for the connector")
    if not portal.lines.get((connector, line)):
        raise Refused(400, "NOT_ACTIVE_LINE", "Line with this ID is inactive or does not exist")
    return connector, line


def _messages_of(params: dict[str, Any]) -> list[Any] | None:
    messages = params.get("MESSAGES")
    if isinstance(messages, dict):
        messages = [messages[k] for k in sorted(messages, key=lambda k: int(k) if str(k).isdigit() else 0)]
    return messages if isinstance(messages, list) and messages else None


def _line_messages(portal: Portal, params: dict[str, Any]) -> tuple[str, str, list[Any]]:
    """The (connector, line, messages) of a call that sends to an active line; ``MESSAGES`` is required."""
    connector, line = _line_of(portal, params)
    messages = _messages_of(params)
    if messages is None:
        raise _argument("MESSAGES")
    return connector, line, messages


def _send_messages(new_id: Callable[[], int], portal: Portal, params: dict[str, Any]) -> Reply:
    connector, line, messages = _line_messages(portal, params)
    for item in messages:
        user, message, chat = item.get("user") or {}, item.get("message") or {}, item.get("chat") or {}
        if not user.get("id") or not chat.get("id") or not (message.get("text") or message.get("files")):
            return error(400, "IMCONNECTOR_NOT_ALL_THE_REQUIRED_DATA", "Not all required data has been provided")
    results = []
    for item in messages:
        user, message, chat = item["user"], item["message"], item["chat"]
        key = (connector, line, str(chat["id"]))
        if key not in portal.chats:
            portal.chats[key] = new_id()
        chat_id = portal.chats[key]
        message_id = new_id()
        portal.messages.append(
            {
                "connector": connector,
                "line": line,
                "chatId": chat_id,
                "messageId": message_id,
                "user": user,
                "message": message,
                "chat": chat,
            }
        )
        results.append(
            {
                "SUCCESS": True,
                "user": str(user["id"]),
                "chat": {"id": str(chat_id)},
                "message": [str(message_id)],
                "session": {"ID": str(chat_id), "CHAT_ID": str(chat_id)},
            }
        )
    return 200, {"result": {"SUCCESS": True, "DATA": {"RESULT": results}}}


def _send_status(kind: str) -> Method:
    def handle(new_id: Callable[[], int], portal: Portal, params: dict[str, Any]) -> Reply:
        connector, line, messages = _line_messages(portal, params)
        for item in messages:
            portal.statuses.append({"kind": kind, "connector": connector, "line": line, **item})
        return 200, {"result": {"SUCCESS": True, "DATA": {"RESULT": [{"SUCCESS": True} for _ in messages]}}}

    return handle


def _im_message_add(new_id: Callable[[], int], portal: Portal, params: dict[str, Any]) -> Reply:
    if not params.get("DIALOG_ID") and not params.get("CHAT_ID"):
        raise _argument("DIALOG_ID")
    if not params.get("MESSAGE"):
        raise _argument("MESSAGE")
    message_id = new_id()
    portal.system_messages.append({**params, "ID": message_id})
    return 200, {"result": message_id}


METHODS: dict[str, Method] = {
    "profile": _profile,
    "crm.contact.add": _contact_add,
    "crm.contact.list": _contact_list,
    "crm.contact.get": _contact_get,
    "crm.contact.delete": _contact_delete,
    "crm.duplicate.findbycomm": _duplicate_findbycomm,
    "imconnector.register": _register,
    "imconnector.unregister": _unregister,
    "imconnector.activate": _activate,
    "imconnector.status": _status,
    "imconnector.send.messages": _send_messages,
    "imconnector.send.status.delivery": _send_status("delivery"),
    "imconnector.send.status.reading": _send_status("reading"),
    "im.message.add": _im_message_add,
}
