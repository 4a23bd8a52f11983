"""Renders the results as markdown (printed, and written to ``docs/PERFORMANCE.md``) with the machine's facts."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.capacity import CapacityRow
from bench.cold_start import APP, APP_WITH_CLIENT, FLOOR, INTERPRETER, ColdStartReport, render_no_bytecode
from bench.gateway import GatewayReport
from bench.listing import ListLatencyReport
from bench.overhead import OverheadResult
from bench.package_size import NotMeasured, PackageReport
from bench.payments import PaymentsReport
from bench.sales import SalesReport

__all__ = [
    "machine_facts",
    "render_capacity",
    "render_cold_start",
    "render_gateway",
    "render_list_latency",
    "render_overhead",
    "render_package",
    "render_payments",
    "table",
]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> str:
    """A markdown table; ``align`` has one letter per column (``l`` or ``r``), left by default."""
    marks = [("---:" if (align[i : i + 1] or "l") == "r" else "---") for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _command(*args: str) -> str | None:
    if shutil.which(args[0]) is None:
        return None
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def _proc_field(path: str, name: str) -> str | None:
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def machine_facts(root: Path) -> list[tuple[str, str]]:
    """Where and on what the numbers were taken."""
    from localdev.stack import DYNAMODB_LOCAL_VERSION

    commit = _command("git", "-C", str(root), "rev-parse", "--short", "HEAD") or "unknown"
    if _command("git", "-C", str(root), "status", "--porcelain"):
        commit += " (with uncommitted changes)"
    memory_kib = (_proc_field("/proc/meminfo", "MemTotal") or "").removesuffix(" kB")
    memory = f"{int(memory_kib) / 2**20:.1f} GiB" if memory_kib.isdigit() else None
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("boto3", "chalice", "pydantic"))
    return [
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("commit", commit),
        ("CPUs (nproc)", _command("nproc") or str(os.cpu_count())),
        ("CPU", _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown"),
        ("memory", memory or "unknown"),
        ("OS", platform.platform()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("libraries", versions),
        ("DynamoDB Local", DYNAMODB_LOCAL_VERSION),
    ]


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _units(value: float) -> str:
    return f"{value:g}"


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def render_cold_start(report: ColdStartReport) -> str:
    """Lambda init: ratio, the medians per variant, and the costliest imports of ``import app``."""
    floor, app = report.results[FLOOR.label], report.results[APP.label]
    interpreter = report.results[INTERPRETER.label].median
    rows = [
        [label, s.runs, _ms(s.median), _ms(s.p95), _ms(s.median - interpreter), f"{s.median / floor.median:.2f}"]
        for label, s in report.results.items()
    ]
    imports = [[cost.package, _ms(cost.milliseconds)] for cost in report.import_costs]
    capability_imports = [[cost.package, _ms(cost.milliseconds)] for cost in report.capability_costs]
    with_client = report.results[APP_WITH_CLIENT.label]
    return "\n\n".join(
        [
            f"**import app / floor = {report.ratio:.2f}** (medians {_ms(app.median)} ms / {_ms(floor.median)} ms; "
            f"with the first DynamoDB client {with_client.median / floor.median:.2f})",
            table(
                ["fresh `python -c`", "runs", "median ms", "p95 ms", "median - interpreter ms", "/ floor"],
                rows,
                "lrrrrr",
            ),
            *render_no_bytecode(report),
            "Where `import app` spends its time (`-X importtime`, self time summed per top-level package, one run):",
            table(["package", "ms"], imports, "lr"),
            *(
                ["... and per capability of `chalicelib`:", table(["package", "ms"], capability_imports, "lr")]
                if capability_imports
                else []
            ),
        ]
    )


def render_overhead(results: Sequence[OverheadResult]) -> str:
    """Request overhead: full path against bare calls, medians, p95, ratio and overhead."""
    rows = [
        [
            r.label,
            r.full.runs,
            _ms(r.full.median),
            _ms(r.full.p95),
            _ms(r.bare.median),
            _ms(r.bare.p95),
            f"{r.ratio:.2f}",
            _ms(r.overhead_ms),
            _ms(r.outside_overhead_ms),
        ]
        for r in results
    ]
    headers = [
        "request",
        "iterations",
        "full median ms",
        "full p95 ms",
        "bare median ms",
        "bare p95 ms",
        "ratio",
        "overhead ms",
        "overhead outside round trips ms",
    ]
    return table(headers, rows, "lrrrrrrrr")


def _orders(count: int) -> str:
    return f"{count / 1000:g} k"


def render_list_latency(report: ListLatencyReport) -> str:
    """List latency: the two tenants' medians per kind of page, their ratio, and what each page's Query read."""
    seeding = report.seeding
    small, large = _orders(seeding.small), _orders(seeding.large)
    first = report.rows[0]
    lead = (
        f"**{first.label}: {large} / {small} orders = {first.ratio:.2f}** (medians {_ms(first.large.median)} ms / "
        f"{_ms(first.small.median)} ms); ScannedCount = Count on every page: "
        f"**{'yes' if report.reads_only_what_it_returns else 'NO'}**"
    )
    seeded = (
        f"Seeded {seeding.small:,} + {seeding.large:,} orders in {seeding.seconds:.0f} s "
        f"({seeding.per_second:.0f} orders/s, BatchWriteItem from {seeding.workers} worker processes)"
    )
    if seeding.large < seeding.planned_large:
        seeded += (
            f"; the large tenant holds {seeding.large:,} of the {seeding.planned_large:,} planned orders: the next "
            f"tenth would have passed the {seeding.budget_s:.0f} s seeding budget, so the ratio is {small} vs {large}"
        )
    rows = [
        [
            r.label,
            r.small.runs,
            _ms(r.small.median),
            _ms(r.small.p95),
            _ms(r.large.median),
            _ms(r.large.p95),
            f"{r.ratio:.2f}",
            f"{r.small_check.returned} / {r.small_check.scanned}",
            f"{r.large_check.returned} / {r.large_check.scanned}",
            f"{_units(r.small_check.read_units)}; {_units(r.large_check.read_units)}",
        ]
        for r in report.rows
    ]
    headers = [
        "GET /orders",
        "runs",
        f"{small} median ms",
        f"{small} p95 ms",
        f"{large} median ms",
        f"{large} p95 ms",
        f"ratio {large} / {small}",
        f"Count / ScannedCount {small}",
        f"Count / ScannedCount {large}",
        f"RCU {small}; {large}",
    ]
    return "\n\n".join([lead, seeded + ".", table(headers, rows, "lrrrrrrrrr")])


def render_sales(report: SalesReport) -> str:
    """Sales tracking: the two companies' medians per request, their ratio, what each read; export throughput."""
    seeding = report.seeding
    small, large = _orders(seeding.small), _orders(seeding.large)
    first = report.rows[0]
    board = next(r for r in report.rows if "dashboard" in r.label)
    lead = (
        f"**{first.label}: {large} / {small} sales = {first.ratio:.2f}; {board.label}: {board.ratio:.2f}** "
        f"(medians {_ms(first.large.median)} / {_ms(first.small.median)} ms and {_ms(board.large.median)} / "
        f"{_ms(board.small.median)} ms); ScannedCount = Count on every request: "
        f"**{'yes' if report.reads_only_what_it_returns else 'NO'}**; export "
        f"**{report.export.rows_per_second:,.0f} rows/s**"
    )
    seeded = (
        f"Seeded {seeding.small:,} + {seeding.large:,} sales, their events applied by the analytics consumer, in "
        f"{seeding.seconds:.0f} s ({seeding.per_second:.0f} sales/s)"
    )
    if seeding.large < seeding.planned_large:
        seeded += (
            f"; the large company holds {seeding.large:,} of the {seeding.planned_large:,} planned sales: the next "
            f"tenth would have passed the {seeding.budget_s:.0f} s seeding budget, so the ratio is {small} vs {large}"
        )
    rows = [
        [
            r.label,
            r.small.runs,
            _ms(r.small.median),
            _ms(r.small.p95),
            _ms(r.large.median),
            _ms(r.large.p95),
            f"{r.ratio:.2f}",
            f"{r.small_check.queries} + {r.small_check.gets}; {r.large_check.queries} + {r.large_check.gets}",
            f"{r.small_check.returned} / {r.small_check.scanned}; {r.large_check.returned} / {r.large_check.scanned}",
            f"{_units(r.small_check.read_units)}; {_units(r.large_check.read_units)}",
        ]
        for r in report.rows
    ]
    headers = [
        "request",
        "runs",
        f"{small} median ms",
        f"{small} p95 ms",
        f"{large} median ms",
        f"{large} p95 ms",
        f"ratio {large} / {small}",
        f"Queries + Gets {small}; {large}",
        f"Count / ScannedCount {small}; {large}",
        f"RCU {small}; {large}",
    ]
    export = report.export
    exported = (
        f'Export of the large company\'s sales (`POST /exports {{"kind": "sales"}}`, its slices run back to back '
        f"in this process): {export.rows:,} rows, {_mib(export.file_bytes)} of CSV in {export.seconds:.1f} s, "
        f"{export.slices} slices: **{export.rows_per_second:,.0f} rows/s**."
    )
    return "\n\n".join([lead, seeded + ".", table(headers, rows, "lrrrrrrrrr"), exported])


def _ingress_row(result: OverheadResult) -> list[object]:
    return [
        result.label,
        result.full.runs,
        _ms(result.full.median),
        _ms(result.full.p95),
        _ms(result.bare.median),
        _ms(result.bare.p95),
        f"{result.ratio:.2f}",
        f"{result.full.p95 / result.bare.p95:.2f}",
        _ms(result.overhead_ms),
        _ms(result.outside_overhead_ms),
    ]


_INGRESS_HEADERS = [
    "request",
    "iterations",
    "function median ms",
    "function p95 ms",
    "bare median ms",
    "bare p95 ms",
    "ratio (median)",
    "ratio (p95)",
    "overhead ms",
    "overhead outside round trips ms",
]


def _ingress(result: OverheadResult, function: str) -> list[str]:
    """An ingress comparison (a webhook function against a bare SendMessage): its lead line and its table."""
    p95_ratio = result.full.p95 / result.bare.p95
    lead = (
        f"**ingress: {function} function / bare SendMessage = {result.ratio:.2f} (median), {p95_ratio:.2f} (p95)** "
        f"(medians {_ms(result.full.median)} ms / {_ms(result.bare.median)} ms, p95 {_ms(result.full.p95)} ms / "
        f"{_ms(result.bare.p95)} ms)"
    )
    return [lead, table(_INGRESS_HEADERS, [_ingress_row(result)], "lrrrrrrrrr")]


def render_ingress(results: Sequence[OverheadResult], bound: float, load: str) -> str:
    """Every webhook function against a bare SendMessage to its queue, in one run: a lead line (how many within
    ``bound``), one row each, and the machine's load (``load``) while it ran."""
    met = [r for r in results if r.ratio <= bound]
    worst = max(results, key=lambda r: r.ratio)
    lead = (
        f"**ingress: {len(met)} of {len(results)} webhook functions within {bound}x a bare SendMessage (median); "
        f"highest {worst.ratio:.2f}, {worst.label.split(' (')[0]}** (load average {load})"
    )
    return "\n\n".join([lead, table(_INGRESS_HEADERS, [_ingress_row(r) for r in results], "lrrrrrrrrr")])


def render_gateway(report: GatewayReport) -> str:
    """The gateway: the Meta function against a bare SendMessage (ratios of medians and of p95s), and the relay
    runs (throughput, latency from webhook POST to arrival in Bitrix24, order per contact)."""
    lead, ingress_table = _ingress(report.ingress, "Meta")
    bursts = [r for r in report.relay if r.label.startswith("burst")] or report.relay[:1]
    burst = bursts[0]
    by_consumers = ", ".join(f"{r.per_second:.1f} with {r.consumers}" for r in bursts)
    relay_lead = (
        f"**relay: messages/s by consumers: {by_consumers}** from webhook POST to Bitrix24 ({burst.messages} "
        f"messages over {burst.contacts} contacts at once; p95 with {burst.consumers}: {_ms(burst.latency.p95)} ms)"
    )
    relay_rows = [
        [
            r.label,
            r.messages,
            r.contacts,
            r.consumers,
            f"{r.seconds:.1f}",
            f"{r.per_second:.1f}",
            _ms(r.latency.median),
            _ms(r.latency.p95),
            _ms(r.latency.minimum),
            "yes" if r.in_order else "**NO**",
        ]
        for r in report.relay
    ]
    relay_table = table(
        [
            "run",
            "messages",
            "contacts",
            "consumers",
            "seconds",
            "messages/s",
            "latency median ms",
            "latency p95 ms",
            "latency min ms",
            "order kept per contact",
        ],
        relay_rows,
        "lrrrrrrrrl",
    )
    return "\n\n".join([lead, ingress_table, relay_lead, relay_table])


def _read_write(read: float, write: float) -> str:
    parts = [f"{_units(read)} RCU" if read else "", f"{_units(write)} WCU" if write else ""]
    return " + ".join(part for part in parts if part)


def _calls(service: str, count: float, row: CapacityRow) -> str:
    text = f"{service} {_units(count)}"
    if service == "dynamodb" and row.dynamodb_calls:
        text += " (" + ", ".join(f"{name} {_units(n)}" for name, n in row.dynamodb_calls.items()) + ")"
    return text


def render_capacity(rows: Sequence[CapacityRow]) -> str:
    """Consumed capacity per operation (per run)."""
    body = []
    for row in rows:
        calls = ", ".join(_calls(service, n, row) for service, n in row.calls.items()) or "0"
        split = ", ".join(f"{name} {_read_write(*units)}" for name, units in row.by_target.items()) or "—"
        body.append([row.label, calls, _units(row.read_units), _units(row.write_units), split, row.items])
    runs = rows[0].runs if rows else 0
    return f"Per run, averaged over {runs} runs of each operation.\n\n" + table(
        ["operation", "calls", "RCU", "WCU", "units by table / index", "items"], body, "llrrll"
    )


def render_package(result: PackageReport | NotMeasured) -> str:
    """Package size, or why it was not measured."""
    if isinstance(result, NotMeasured):
        return f"Not measured: {result.reason}."
    rows = [
        ["dependencies (`pip install --target -r requirements.txt`)", _mib(result.dependencies)],
        ["application code (app.py, chalicelib, functions, vendor)", f"{result.app_code / 1024:.0f} KiB"],
        ["Chalice runtime (chalice/app.py, chalice/__init__.py)", f"{result.chalice_runtime / 1024:.0f} KiB"],
        ["**total unzipped** (Lambda limit 250 MB with layers)", f"**{_mib(result.unzipped)}**"],
        ["**total zipped** (deflate; direct-upload limit 50 MB)", f"**{_mib(result.zipped)}**"],
    ]
    largest = [[name, _mib(size)] for name, size in result.largest]
    assets = [[f"webhook function `{name}`", _mib(unzipped), _mib(zipped)] for name, unzipped, zipped in result.assets]
    return "\n\n".join(
        [
            table(["what ships", "size"], rows, "lr"),
            f"Largest installed packages (pip took {result.pip_seconds:.0f} s):",
            table(["package", "unzipped"], largest, "lr"),
            *(
                [
                    "Each webhook function's own asset (only what its handler imports, as `make synth` builds it):",
                    table(["asset", "unzipped", "zipped"], assets, "lrr"),
                ]
                if assets
                else []
            ),
        ]
    )


def render_payments(report: PaymentsReport) -> str:
    """Payments: the Stripe function against a bare SendMessage, links made per second, payments confirmed per
    second (from the customer's Pay to the order PAID)."""
    lead, ingress_table = _ingress(report.ingress, "Stripe")
    confirmation = report.confirmation
    runs = [*report.links, *([confirmation] if confirmation else [])]
    names = ["payment links", "payment links", "confirmations"]
    rows = [
        [
            f"{name}: {run.label}",
            run.count,
            run.threads,
            f"{run.seconds:.1f}",
            f"{run.per_second:.1f}",
            _ms(run.latency.median),
            _ms(run.latency.p95),
        ]
        for name, run in zip(names, runs, strict=False)
    ]
    best = max(report.links, key=lambda run: run.per_second)
    confirmed = (
        f"{confirmation.per_second:.1f} confirmations/s** ({confirmation.count} links paid at once, "
        f"{confirmation.threads} consumer threads)"
        if confirmation
        else "confirmations not measured** (this build has no integrations-queue consumer)"
    )
    capacity = f"**capacity: {best.per_second:.1f} links/s ({best.label}), {confirmed}"
    headers = ["run", "count", "threads", "seconds", "per second", "latency median ms", "latency p95 ms"]
    return "\n\n".join([lead, ingress_table, capacity, table(headers, rows, "lrrrrrr")])
