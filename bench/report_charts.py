"""The report's key figures as charts (``bench.charts``): cold start by variant, list latency by tenant size, and
the gateway's relay throughput by consumers."""

from __future__ import annotations

from bench.charts import Bar, Chart
from bench.cold_start import ColdStartReport
from bench.gateway import GatewayReport
from bench.listing import ListLatencyReport

__all__ = ["key_charts"]


def key_charts(cold: ColdStartReport, listing: ListLatencyReport, gateway: GatewayReport) -> list[Chart]:
    """The three charts docs/PERFORMANCE.md shows."""
    small, large = f"{listing.seeding.small:,} orders", f"{listing.seeding.large:,} orders"
    list_bars = []
    for row in listing.rows:
        list_bars += [Bar(f"{row.label[:32]}", row.small.median, 0), Bar("", row.large.median, 1)]
    relay = [r for r in gateway.relay if r.label.startswith("burst")]
    return [
        Chart(
            "cold-start",
            "Lambda init by variant (median of fresh interpreters)",
            "ms",
            [Bar(label, summary.median) for label, summary in cold.results.items()],
        ),
        Chart("list-latency", "GET /orders page latency by tenant size (median)", "ms", list_bars, (small, large)),
        Chart(
            "relay-throughput",
            "WhatsApp to Bitrix24 relay, burst throughput by consumers",
            "msg/s",
            [Bar(f"{r.consumers} consumer{'s' if r.consumers > 1 else ''}", r.per_second) for r in relay],
        ),
    ]
