"""Index items: an entity listed in more lists than the three GSIs can hold.

For each further list an entity belongs to, the table holds an index item: ``PK`` = the list's faceted key
(``keys.facets_pk``: the sales of a rep in one status), ``SK`` = the entity's sort value in that list (a
``time_sk``), and the entity's id. A store describes an entity's lists as ``{facets: sort key}``; ``move_ops``
turns the lists before and after a change into the writes that move exactly what changed, in the change's own
transaction, and ``query_page`` reads one page of a list with the entities it names (one Query and one
BatchGetItem, whatever the tenant's size).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection
from chalicelib.core.db.store import QueryPage, Table, WriteOp, delete_op, put_op
from chalicelib.core.db.table import ENTITY, PARTITION_KEY, SORT_KEY

__all__ = ["REF_ID", "Entries", "Facets", "move_ops", "query_page"]

REF_ID = "refId"
Facets = tuple[tuple[str, str], ...]
# The lists an entity is in: list (its facets) → the entity's sort key in it.
Entries = Mapping[Facets, str]


def move_ops(
    tenant_id: str, collection: Collection, entity_id: str, before: Entries, after: Entries, *, entity: str
) -> list[WriteOp]:
    """The writes that take an entity's index items from ``before`` to ``after`` (unchanged ones untouched)."""
    ops: list[WriteOp] = []
    for facets, sort in sorted(before.items()):
        if after.get(facets) != sort:
            ops.append(delete_op(keys.facets_pk(tenant_id, collection, facets), sort))
    for facets, sort in sorted(after.items()):
        if before.get(facets) != sort:
            item = {
                PARTITION_KEY: keys.facets_pk(tenant_id, collection, facets),
                SORT_KEY: sort,
                ENTITY: entity,
                REF_ID: entity_id,
            }
            ops.append(put_op(item, must_not_exist=False))
    return ops


def query_page(
    tenant_id: str,
    collection: Collection,
    facets: Facets,
    target: Callable[[str], tuple[str, str]],
    *,
    limit: int,
    start_key: Mapping[str, str] | None,
    sort_between: tuple[str, str] | None = None,
    newest_first: bool = False,
) -> QueryPage:
    """One page of a faceted list: the entities its index items name (``target(id)`` is an entity's key), in the
    list's order, and the list's LastEvaluatedKey."""
    refs = Table().query_page(
        keys.facets_pk(tenant_id, collection, facets),
        sort_between=sort_between,
        limit=limit,
        start_key=start_key,
        newest_first=newest_first,
    )
    wanted = [target(str(ref[REF_ID])) for ref in refs.items]
    found = {(str(item[PARTITION_KEY]), str(item[SORT_KEY])): item for item in Table().batch_get(wanted)}
    return QueryPage(items=[found[key] for key in wanted if key in found], last_key=refs.last_key)
