"""Keys of the gateway's channels: the platform list of Bitrix24 portals sorted by token expiry."""

from __future__ import annotations

import pytest

from chalicelib.core.db import keys


def test_expiry_sk_round_trips_and_sorts_by_expiry() -> None:
    early = keys.expiry_sk("2025-01-01T10:00:00.000Z", "T1", "P9")
    late = keys.expiry_sk("2025-01-01T10:15:00.000Z", "T0", "P1")
    assert keys.parse_expiry_sk(early) == ("2025-01-01T10:00:00.000Z", "T1", "P9")
    assert sorted([late, early]) == [early, late]


def test_expiry_sk_refuses_parts_with_the_separator() -> None:
    with pytest.raises(keys.InvalidKey):
        keys.expiry_sk("2025-01-01T10:00:00.000Z", "T#1", "P")
    with pytest.raises(keys.InvalidKey):
        keys.parse_expiry_sk("2025-01-01T10:00:00.000Z#T1")


def test_portal_lists_are_the_tenants_and_the_token_list_is_the_platforms() -> None:
    assert keys.collection_pk("T1", keys.Collection.CHANNELS) == "T#T1#CHANNELS"
    assert keys.facet_pk("T1", keys.Collection.CHANNELS, "PORTAL", "P1").startswith(keys.tenant_prefix("T1"))
    assert not keys.platform_collection_pk("B24TOKENS").startswith("T#")
