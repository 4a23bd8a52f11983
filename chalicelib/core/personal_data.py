"""Personal data: the marker that says a stored field is personal data, the registry where every capability that
stores some declares its exporter and eraser, and the pseudonymisation erasers share.

A capability stores personal data when a model of its ``models.py`` marks a field ``Annotated[..., PERSONAL]``
(``tests/unit/core/test_personal_data.py`` fails when such a capability declared no exporter and eraser, and when a
stored model — a ``…Record`` — has a field named like personal data, such as ``email`` or ``phone``, left unmarked).
It declares, at import of its service::

    declare_personal_data("orders", exporter=export_orders, eraser=erase_orders)

``exporter(subject)`` answers what the capability holds about the person (JSON-ready dicts); ``eraser(subject)``
removes or pseudonymises it and answers how many records it changed. Both run in the privacy job (a background
job, not a request path), must be idempotent (a retried job runs them again) and must find the person's records
through keys (their customer id, their phone's or email's lookup hash), never by a Scan. Erasers keep what the law
keeps (amounts, taxes, invoice numbers) and replace the person's name, email and phone with the pseudonym.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from boto3.dynamodb.conditions import Attr

from chalicelib.core.db.keys import META_SK
from chalicelib.core.db.store import QueryPage, Table, put_op
from chalicelib.core.db.table import PARTITION_KEY, SORT_KEY, VERSION, strip_storage

__all__ = [
    "PERSONAL",
    "DataSubject",
    "Declaration",
    "PersonalData",
    "all_pages",
    "declare_personal_data",
    "declared",
    "delete_partition",
    "erased_email",
    "export_partition",
    "pseudonymise",
    "scrub_items",
    "scrub_partition",
]

T = TypeVar("T")

SubjectKind = Literal["customer", "user"]


@dataclass(frozen=True)
class PersonalData:
    """``Annotated`` metadata: this field holds personal data (a name, a contact, a document, what a person wrote)."""


PERSONAL = PersonalData()


@dataclass(frozen=True)
class DataSubject:
    """The person a privacy request is about: who they are in a tenant, what identifies them (every spelling BTRIX
    may have stored), and the pseudonym that replaces them in what is kept."""

    tenant_id: str
    kind: SubjectKind
    id: str
    pseudonym: str
    names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = field(default=())

    def identifiers(self) -> tuple[str, ...]:
        """The strings to replace, longest first (a phone also as digits only, as WhatsApp ids carry it)."""
        found = {*self.names, *self.emails}
        for phone in self.phones:
            found |= {phone, phone.lstrip("+")}
        return tuple(sorted((f for f in found if len(f) >= 3), key=len, reverse=True))


Exporter = Callable[[DataSubject], list[dict[str, Any]]]
Eraser = Callable[[DataSubject], int]
FileExporter = Callable[[DataSubject], list[tuple[str, bytes]]]


@dataclass(frozen=True)
class Declaration:
    """How one capability exports and erases what it holds about a person."""

    capability: str
    exporter: Exporter
    eraser: Eraser
    last: bool = False
    files: FileExporter | None = None


_DECLARED: dict[str, Declaration] = {}


def declare_personal_data(
    capability: str, *, exporter: Exporter, eraser: Eraser, last: bool = False, files: FileExporter | None = None
) -> None:
    """Declare ``capability``'s exporter and eraser (once; ``last``: erased after every other, because the others
    find the person through it — the customer record; ``files``: the person's files, e.g. media they sent)."""
    if capability in _DECLARED and _DECLARED[capability].exporter is not exporter:
        raise ValueError(f"{capability} declared its personal data twice")
    _DECLARED[capability] = Declaration(capability, exporter, eraser, last, files)


def declared() -> list[Declaration]:
    """Every declaration, in erasure order (the ``last`` ones at the end)."""
    return sorted(_DECLARED.values(), key=lambda d: (d.last, d.capability))


def erased_email(pseudonym: str) -> str:
    """The address that stands for an erased person where one is required (a user record, a customer at a payment
    provider): the pseudonym's, at a domain that never delivers (RFC 2606 ``.invalid``)."""
    return f"{re.sub(r'[^a-z0-9]+', '-', pseudonym.lower()).strip('-')}@erased.invalid"


def pseudonymise(value: Any, subject: DataSubject) -> Any:
    """``value`` (a string, or dicts and lists of them) with each of the subject's identifiers replaced by the
    pseudonym, case-insensitively and only as whole words (a user named "Ana" leaves the role ``MANAGER`` alone);
    anything else as it is."""
    identifiers = subject.identifiers()
    if not identifiers:
        return value
    pattern = re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(i) for i in identifiers)})(?!\w)", re.IGNORECASE)

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return pattern.sub(subject.pseudonym, item)
        if isinstance(item, dict):
            return {key: walk(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [walk(inner) for inner in item]
        return item

    return walk(value)


def all_pages(fetch: Callable[[Mapping[str, str] | None], QueryPage[T]]) -> Iterator[T]:
    """Every item of a list read page by page (``fetch(start_key)``): for the privacy job, never a request."""
    start: Mapping[str, str] | None = None
    while True:
        page = fetch(start)
        yield from page.items
        if page.last_key is None:
            return
        start = page.last_key


def _partition(pk: str) -> Iterator[dict[str, Any]]:
    table = Table()
    yield from all_pages(lambda start: table.query_page(pk, limit=100, start_key=start, consistent=True))


def export_partition(pk: str, *, leave_out: frozenset[str] = frozenset()) -> dict[str, Any]:
    """An entity as stored (its ``META`` item) with every other item of its partition — history, audit trail,
    children — under ``related``; storage keys and the attributes in ``leave_out`` (hashes, ciphertexts) left out.
    Empty when the partition is."""
    entity: dict[str, Any] = {}
    related: list[dict[str, Any]] = []
    for item in _partition(pk):
        shown = {k: v for k, v in strip_storage(item).items() if k not in leave_out}
        if item[SORT_KEY] == META_SK:
            entity = shown
        else:
            related.append({"kind": str(item[SORT_KEY]).split("#", 1)[0], **shown})
    return {**entity, "related": related} if entity or related else {}


def _scrub(table: Table, item: Mapping[str, Any], subject: DataSubject, drop: frozenset[str]) -> bool:
    keys = {PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]}
    kept = {k: v for k, v in item.items() if k not in keys and k not in drop}
    scrubbed = {**pseudonymise(kept, subject), **keys}
    if scrubbed == item:
        return False
    condition = Attr(VERSION).eq(item[VERSION]) if VERSION in item else Attr(PARTITION_KEY).exists()
    table.transact([put_op(scrubbed, condition=condition)])
    return True


def scrub_partition(pk: str, subject: DataSubject) -> int:
    """Pseudonymise the subject's identifiers in every item of an entity's partition (keys stay; a versioned item is
    written only if it did not change meanwhile: the job is retried); answers how many items changed."""
    table = Table()
    return sum(_scrub(table, item, subject, frozenset()) for item in _partition(pk))


def scrub_items(
    item_keys: Iterable[tuple[str, str]], subject: DataSubject, *, drop: frozenset[str] = frozenset()
) -> int:
    """Pseudonymise the subject's identifiers in the items at ``item_keys`` (PK, SK) and remove their attributes in
    ``drop`` (the IP address an audit entry kept, say); answers how many items changed."""
    table = Table()
    found = (table.get(pk, sk, consistent=True) for pk, sk in item_keys)
    return sum(_scrub(table, item, subject, drop) for item in found if item is not None)


def delete_partition(pk: str) -> int:
    """Delete every item of an entity's partition (a conversation and its messages); answers how many."""
    table = Table()
    count = 0
    for item in list(_partition(pk)):
        table.delete(item[PARTITION_KEY], item[SORT_KEY])
        count += 1
    return count
