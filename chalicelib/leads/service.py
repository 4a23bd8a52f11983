"""Lead use cases (Tekup sales tracking): create (duplicates refused or merged), read, list, change, move along
the status flow, and the intake of leads from WhatsApp conversations (email: ``intake.py``; the conversion into a
sale: ``conversion.py``).

This module is the capability's face (the routes and other capabilities call ``leads.service.X``); each job lives in
its own module, re-exported here: ``reading`` (who may, reads, lists), ``creating`` (a new lead, duplicates refused
or merged, from a request or a WhatsApp conversation), ``changing`` (update), ``flow`` (the status hook and moves),
``events`` (the lead's ``snapshot``); converting a lead into a sale is ``conversion.py``'s.

A lead is someone who may buy: a contact (name, email, phone), the service they are interested in (a catalog
item of kind ``service``), an estimated value, a source, a follow-up time and an owner (a rep; an inbound lead
may be unassigned until a manager gives it one). Its status flow is the engine's (built-in ``lead``: NEW →
CONTACTED → QUALIFIED → CONVERTED, or LOST); the owner is reminded by email at the follow-up time (a timer of the
flow on ``followUpAt``, which defaults to a day after creation).

Duplicates: an open lead's email and phone are claimed in the tenant, so a second lead with the same contact is
a 409 naming the open one — or, on request (``onDuplicate: merge``, and always for inbound email), fills that lead
instead (missing contact, service, value and follow-up; notes appended).

Conversion (``conversion.py``) is the lead's transition to CONVERTED: this module's flow hook writes the customer
and the sale that ``converting`` hands it in the transition's own transaction.

Who sees what: ``leads:read:all`` (ADMIN, MANAGER, VIEWER) reads every lead, ``leads:read:own`` alone (SALES_REP)
the leads it owns — in lists too (its own partitions); ``leads:write`` changes the leads one may read in full
(with ``leads:read:all``: any; a rep: its own, and it may give a lead only to itself).
"""

from __future__ import annotations

from chalicelib.leads.changing import update_lead
from chalicelib.leads.creating import DEFAULT_FOLLOW_UP, LeadResult, create_lead, lead_from_conversation
from chalicelib.leads.events import snapshot
from chalicelib.leads.flow import (
    CONVERTED,
    WORKFLOW,
    CustomerTaken,
    PendingConversion,
    converting,
    transition_lead,
)
from chalicelib.leads.reading import ENTITY_TYPE, get_lead, lead_history, list_leads, load_item, may_write

__all__ = [
    "CONVERTED",
    "DEFAULT_FOLLOW_UP",
    "ENTITY_TYPE",
    "WORKFLOW",
    "CustomerTaken",
    "LeadResult",
    "PendingConversion",
    "converting",
    "create_lead",
    "get_lead",
    "lead_from_conversation",
    "lead_history",
    "list_leads",
    "load_item",
    "may_write",
    "snapshot",
    "transition_lead",
    "update_lead",
]
