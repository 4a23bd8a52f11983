"""The whole docs/PERFORMANCE.md: its sections in order, each a rendered measurement (bench/report.py) and the prose
that explains it (bench/report_notes.py), and the headings the partial re-runs (bench/partial.py) replace by."""

from __future__ import annotations

from collections.abc import Sequence

from bench import report_notes as notes
from bench.ingress import SECTION as INGRESS_HEADING
from bench.report import table

__all__ = [
    "COLD_START_HEADING",
    "DELIVERY_HEADING",
    "OVERHEAD_HEADING",
    "PACKAGE_HEADING",
    "SHIPPING_HEADING",
    "cold_start_section",
    "delivery_section",
    "overhead_section",
    "render_document",
]


COLD_START_HEADING = "## Lambda init (cold start)"
OVERHEAD_HEADING = "## Request overhead"
SHIPPING_HEADING = "## Shipping quotes (MelhorEnvio)"
DELIVERY_HEADING = "## Delivery platforms (iFood events polled into orders)"
PACKAGE_HEADING = "## Lambda package size"


def delivery_section(delivery: str) -> str:
    """The delivery platforms section's body: the measured table and how it is measured."""
    return delivery + "\n\n" + notes.DELIVERY


def cold_start_section(cold_start: str, imports: str, cold_request: str) -> str:
    """The cold start section's body: ``import app`` against the floor, its imports before and after, the first
    request of a new container."""
    cold_imports = "\n\n`-X importtime` of `import app` per package, before and after:\n\n" + imports if imports else ""
    first = "\n\n### First request of a new container\n\n" + cold_request if cold_request else ""
    return cold_start + cold_imports + "\n\n" + notes.COLD_START + first


def overhead_section(overhead: str) -> str:
    """The request overhead section's body."""
    return overhead + "\n\n" + notes.OVERHEAD


def render_document(
    facts: Sequence[tuple[str, str]],
    cold_start: str,
    overhead: str,
    capacity: str,
    package: str,
    list_latency: str,
    gateway: str,
    sales: str,
    payments: str,
    assistant: str = "",
    *,
    ingress: str = "",
    marketplace: str = "",
    shipping: str = "",
    budget: str = "",
    imports: str = "",
    scale: str = "",
    charts: str = "",
    delivery: str = "",
    cold_request: str = "",
) -> str:
    """The whole ``docs/PERFORMANCE.md`` (the assistant's section when measured)."""
    machine = table(["", ""], [[name, value] for name, value in facts])
    sections = [
        notes.PREAMBLE,
        *(["## Performance budget (issue 20)\n\n" + budget + "\n\n" + notes.BUDGET] if budget else []),
        *(["## Key figures\n\n" + charts] if charts else []),
        "## Machine\n\n" + machine,
        COLD_START_HEADING + "\n\n" + cold_start_section(cold_start, imports, cold_request),
        OVERHEAD_HEADING + "\n\n" + overhead_section(overhead),
        "## List latency by tenant size (GET /orders)\n\n" + list_latency + "\n\n" + notes.LIST_LATENCY,
        "## WhatsApp <-> Bitrix24 gateway\n\n" + gateway + "\n\n" + notes.GATEWAY,
        *(
            ["## WhatsApp shop assistant (one turn against the relay path)\n\n" + assistant + "\n\n" + notes.ASSISTANT]
            if assistant
            else []
        ),
        "## Sales tracking by tenant size (GET /sales, the dashboard, exports)\n\n" + sales + "\n\n" + notes.SALES,
        *([INGRESS_HEADING + "\n\n" + ingress] if ingress else []),
        "## Payments\n\n" + payments + "\n\n" + notes.PAYMENTS,
        *([SHIPPING_HEADING + "\n\n" + shipping] if shipping else []),
        *(
            ["## Marketplace and finance by data size\n\n" + marketplace + "\n\n" + notes.MARKETPLACE]
            if marketplace
            else []
        ),
        *([DELIVERY_HEADING + "\n\n" + delivery_section(delivery)] if delivery else []),
        "## Consumed capacity per operation\n\n" + capacity + "\n\n" + notes.CAPACITY,
        "## Lambda package size\n\n" + package + "\n\n" + notes.PACKAGE_NOTES,
        *(["## Scale on paper\n\n" + scale + "\n\n" + notes.SCALE] if scale else []),
        "## Not measured yet\n\n" + notes.NOT_YET,
    ]
    return "\n\n".join(sections) + "\n"
