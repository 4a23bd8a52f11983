"""The one table's definition: keys, GSIs, TTL and stream. Used by the stores, the local stack and infra."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ENTITY",
    "GSI1",
    "GSI2",
    "GSI3",
    "INDEXES",
    "PARTITION_KEY",
    "SORT_KEY",
    "STORAGE_ATTRIBUTES",
    "STREAM_VIEW_TYPE",
    "TTL_ATTRIBUTE",
    "VERSION",
    "Index",
    "create_table_request",
    "strip_storage",
]

PARTITION_KEY = "PK"
SORT_KEY = "SK"
ENTITY = "entity"
VERSION = "version"
TTL_ATTRIBUTE = "expiresAt"
STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"


@dataclass(frozen=True)
class Index:
    """A global secondary index: overloaded generic keys, every projection ALL."""

    name: str
    partition_key: str
    sort_key: str


GSI1 = Index("GSI1", "GSI1PK", "GSI1SK")
GSI2 = Index("GSI2", "GSI2PK", "GSI2SK")
# GSI3 serves one named pattern that GSI1/GSI2 cannot: the products of a brand (a product is listed in the whole
# catalog on GSI1 and in its category on GSI2 at the same time). See the access-pattern table in core/db/keys/.
GSI3 = Index("GSI3", "GSI3PK", "GSI3SK")
INDEXES: tuple[Index, ...] = (GSI1, GSI2, GSI3)
STORAGE_ATTRIBUTES = frozenset(
    {PARTITION_KEY, SORT_KEY, ENTITY, TTL_ATTRIBUTE} | {a for i in INDEXES for a in (i.partition_key, i.sort_key)}
)


def strip_storage(item: Mapping[str, Any]) -> dict[str, Any]:
    """The item without its storage attributes (keys, discriminator, TTL): what a domain model reads."""
    return {name: value for name, value in item.items() if name not in STORAGE_ATTRIBUTES}


def create_table_request(table_name: str) -> dict[str, Any]:
    """The CreateTable request for the table (on-demand billing, stream on)."""
    key_attributes = [PARTITION_KEY, SORT_KEY] + [a for i in INDEXES for a in (i.partition_key, i.sort_key)]
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in key_attributes],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in INDEXES
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE},
    }
