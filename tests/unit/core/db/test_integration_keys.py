"""Keys of the integrations: references to provider ids, the platform list of connected tenants, queue jobs."""

from __future__ import annotations

import pytest

from chalicelib.core.db import keys


def test_ref_sk_round_trips_and_lists_by_kind() -> None:
    key = keys.ref_sk("openinvoice", "inv-123")
    assert keys.parse_ref_sk(key) == ("openinvoice", "inv-123")
    assert key.startswith(keys.ref_prefix("openinvoice"))
    assert not keys.ref_sk("product", "inv-123").startswith(keys.ref_prefix("openinvoice"))


def test_ref_sk_refuses_separators_and_other_keys() -> None:
    with pytest.raises(keys.InvalidKey):
        keys.ref_sk("product", "a#b")
    with pytest.raises(keys.InvalidKey):
        keys.parse_ref_sk("SYNCLOG#01J")
    with pytest.raises(keys.InvalidKey):
        keys.parse_ref_sk("OTHER#product#1")


def test_connected_tenants_pk_round_trips_and_is_outside_every_tenant() -> None:
    key = keys.connected_tenants_pk("billy")
    assert keys.parse_connected_tenants_pk(key) == "billy"
    assert not key.startswith("T#")
    with pytest.raises(keys.InvalidKey):
        keys.parse_connected_tenants_pk(keys.platform_collection_pk("TENANTS"))


def test_job_records_are_the_tenants_own_partitions() -> None:
    key = keys.entity_pk("T1", keys.Kind.INTEGRATION_JOB, "abc")
    assert key.startswith(keys.tenant_prefix("T1"))
    assert keys.parse_entity_pk(key) == keys.EntityRef("T1", keys.Kind.INTEGRATION_JOB, "abc")
