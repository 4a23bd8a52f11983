"""Keys of subscription billing: the tenant's items under its own prefix, the platform's lists outside every tenant,
and the past-due list sorted so that "due before now" is one key range."""

from __future__ import annotations

from chalicelib.core.db import keys


def test_billing_items_of_a_tenant_are_under_its_prefix_and_parse_back() -> None:
    transaction = keys.entity_pk("T1", keys.Kind.BILLING_TRANSACTION, "ABC")
    assert transaction.startswith(keys.tenant_prefix("T1"))
    assert keys.parse_entity_pk(transaction) == keys.EntityRef("T1", keys.Kind.BILLING_TRANSACTION, "ABC")
    invoices = keys.collection_pk("T1", keys.Collection.BILLING_TRANSACTIONS)
    assert keys.parse_collection_pk(invoices) == ("T1", keys.Collection.BILLING_TRANSACTIONS, None)
    parked = keys.entity_pk("platform", keys.Kind.BILLING_EVENT, "K1")
    assert keys.parse_entity_pk(parked).kind is keys.Kind.BILLING_EVENT


def test_platform_billing_lists_are_outside_every_tenant() -> None:
    for collection in (keys.PlatformCollection.SUBSCRIPTIONS, keys.PlatformCollection.BILLING_PAST_DUE):
        pk = keys.platform_collection_pk(collection)
        assert not pk.startswith("T#")
        assert keys.parse_platform_collection_pk(pk) == collection


def test_past_due_entries_due_before_a_moment_are_one_key_range() -> None:
    due = keys.expiry_sk("2026-01-01T00:00:00.000Z", "T9", "S1")
    later = keys.expiry_sk("2026-01-09T00:00:00.000Z", "T0", "S2")
    upper = keys.expiry_sk("2026-01-05T00:00:00.000Z", "~", "~")
    assert due < upper < later
    assert keys.parse_expiry_sk(due) == ("2026-01-01T00:00:00.000Z", "T9", "S1")
