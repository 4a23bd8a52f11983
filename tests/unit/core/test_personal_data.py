"""The personal-data registry is complete: every capability whose models mark personal data declared an exporter
and an eraser, and no stored record holds a field named like personal data without the mark."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable, Iterator
from typing import Annotated, get_args

from pydantic import BaseModel

import chalicelib
from chalicelib.core.personal_data import PERSONAL, DataSubject, Declaration, pseudonymise
from chalicelib.integrations.credentials import Provider
from chalicelib.privacy.models import ProcessorName
from chalicelib.privacy.processors import _ACTIONS
from chalicelib.privacy.service import load_declarations

# Field names that always hold a person's data in a stored record (a ``…Record`` model).
PERSONAL_NAMES = {
    "email",
    "phone",
    "wa_id",
    "whatsapp_number",
    "contact_name",
    "contact_email",
    "contact_phone",
    "customer_id",
    "document_encrypted",
    "address",
}
# Providers that see a person's data but are not asked to erase it, and why.
NOT_ASKED = {
    "twilio": "a transport of SMS/WhatsApp messages: its message logs follow the account's retention, no person record",
    "meta": "WhatsApp Cloud API: a transport; the Graph API deletes no delivered message (media expire at Meta)",
    "ga4": "pseudonymous ids only (a client id derived from the customer, the customer id as user_id), no contact; "
    "GA4's User Deletion API needs OAuth the stream's credentials (measurement id, API secret) do not give",
    "meta_capi": "email and phone only SHA-256-hashed, as Meta requires; the Conversions API deletes no event",
}
# Capabilities whose records name the tenant's business or its own accounts, not a person it serves or employs.
NOT_PEOPLE = {
    "tenants": "the business itself (its name, CNPJ, contact)",
    "channels": "the business's own WhatsApp numbers and portals",
    "billing": "the tenant's account at BTRIX's payment providers",
    "marketplace": "businesses trading with each other",
}


def _models() -> Iterator[tuple[str, type[BaseModel]]]:
    for module in pkgutil.iter_modules(chalicelib.__path__):
        if not module.ispkg or module.name == "core":
            continue
        try:
            models = importlib.import_module(f"chalicelib.{module.name}.models")
        except ModuleNotFoundError:
            continue
        for _, cls in inspect.getmembers(models, inspect.isclass):
            if issubclass(cls, BaseModel) and cls.__module__ == models.__name__:
                yield module.name, cls


def _marked(cls: type[BaseModel]) -> set[str]:
    return {name for name, info in cls.model_fields.items() if PERSONAL in info.metadata}


def _undeclared(models: Iterable[tuple[str, type[BaseModel]]], declared: Iterable[Declaration]) -> set[str]:
    """The capabilities whose models mark personal data with no exporter and eraser declared."""
    storing = {capability for capability, cls in models if _marked(cls)}
    return storing - {d.capability for d in declared if callable(d.exporter) and callable(d.eraser)}


def test_every_capability_that_marks_personal_data_declares_an_exporter_and_an_eraser() -> None:
    models = list(_models())
    assert {capability for capability, cls in models if _marked(cls)}, "no model marks personal data: broken"
    assert _undeclared(models, load_declarations()) == set(), "declare_personal_data(...) in <capability>/privacy.py"
    # Those that landed with their providers: shipping's labels, the delivery platforms' customers, and what a user
    # did (audit) are declared too.
    assert {"shipping", "delivery", "audit", "users", "payments"} <= {d.capability for d in load_declarations()}


def test_a_capability_that_marks_personal_data_without_declaring_is_reported() -> None:
    class CourierRecord(BaseModel):
        rider_name: Annotated[str, PERSONAL]

    declared = [d for d in load_declarations() if d.capability != "shipping"]
    assert _undeclared([*_models(), ("couriers", CourierRecord)], declared) >= {"couriers", "shipping"}


def test_every_provider_holding_a_persons_data_is_asked_at_erasure_or_says_why_not() -> None:
    processors = set(get_args(ProcessorName))
    providers = {provider.value for provider in Provider}
    assert providers - processors - set(NOT_ASKED) == set(), "a processor in privacy/processors.py, or NOT_ASKED"
    assert processors - set(_ACTIONS) == set(), "say what each processor is asked (privacy/processors.py _ACTIONS)"


def test_stored_records_mark_every_field_named_like_personal_data() -> None:
    unmarked = [
        f"{capability}.{cls.__name__}.{name}"
        for capability, cls in _models()
        if cls.__name__.endswith("Record") and capability not in NOT_PEOPLE
        for name in set(cls.model_fields) & PERSONAL_NAMES
        if name not in _marked(cls)
    ]
    assert unmarked == [], "mark them Annotated[..., PERSONAL] (chalicelib/core/personal_data.py)"


def test_customers_and_users_are_erased_last_because_the_others_find_the_person_through_them() -> None:
    assert {d.capability for d in load_declarations()[-2:]} == {"customers", "users"}
    assert not any(d.last for d in load_declarations()[:-2])


def test_pseudonymise_replaces_every_spelling_of_the_person_anywhere_in_a_value() -> None:
    subject = DataSubject(
        "t1",
        "customer",
        "c1",
        "Erased customer 1",
        names=("João Silva", "joao silva"),
        emails=("joao@example.com",),
        phones=("+5511987654321",),
    )
    value = {
        "text": "Olá JOÃO SILVA, confirmamos",
        "nested": [{"to": "Joao@Example.com"}, "wa 5511987654321", 3],
        "sort": "joao silva#01J",
    }
    assert pseudonymise(value, subject) == {
        "text": "Olá Erased customer 1, confirmamos",
        "nested": [{"to": "Erased customer 1"}, "wa Erased customer 1", 3],
        "sort": "Erased customer 1#01J",
    }


def test_pseudonymise_replaces_whole_words_only_so_a_short_name_leaves_other_values_alone() -> None:
    subject = DataSubject("t1", "user", "u1", "Erased user 1", names=("Ana",), emails=("ana@example.com",))
    value = {"name": "Ana", "role": "MANAGER", "note": "ask ana, she knows", "email": "ANA@example.com"}
    assert pseudonymise(value, subject) == {
        "name": "Erased user 1",
        "role": "MANAGER",
        "note": "ask Erased user 1, she knows",
        "email": "Erased user 1",
    }
