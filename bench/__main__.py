"""``python -m bench``: run every benchmark, print the tables, write ``docs/PERFORMANCE.md``."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The list latency's seeding ends by this many seconds into the run (and takes at most its own budget), so that
# the whole run stays near 6 minutes on a busy 2-core machine; a smaller large tenant is reported as such.
SEEDING_DEADLINE_S = 300.0
_STARTED = time.monotonic()


def _progress(message: str) -> None:
    print(f"[bench {time.monotonic() - _STARTED:3.0f} s] {message}", file=sys.stderr, flush=True)


def _quiet_local_env() -> None:
    # Set before the application is first imported: Powertools reads its levels when its objects are built.
    os.environ["BTRIX_STAGE"] = "local"
    os.environ["BTRIX_TRACING"] = "false"
    # One bench tenant makes thousands of requests a second: its plan's throttle would refuse most of them.
    os.environ["BTRIX_TENANT_THROTTLE"] = "false"
    # The sections share the bench tenant's first session, and a whole run outlasts the default 15-minute access
    # token (on a loaded machine the shipping section started 23 minutes in and was answered 401): the longest
    # lifetime Settings allows.
    os.environ["BTRIX_ACCESS_TOKEN_TTL_S"] = "3600"
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks in an order that keeps them from disturbing each other; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few iterations: check that everything runs")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "PERFORMANCE.md", help="report path")
    parser.add_argument("--no-package", action="store_true", help="skip the package size (no pip install)")
    parser.add_argument(
        "--only",
        type=lambda value: [part for part in value.split(",") if part],
        default=[],
        metavar="SECTIONS",
        help="measure only these sections (cold-start, overhead, shipping, delivery, ingress, package) and update them "
        "in the report",
    )
    args = parser.parse_args(argv)
    _quiet_local_env()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if args.only:
        return _partial(args.only, args.output, quick=args.quick)

    from bench.assistant import measure_assistant
    from bench.budget import baseline, budget_targets, render_budget, render_import_costs
    from bench.capacity import measure_capacity
    from bench.charts import write_charts
    from bench.cold_request import measure_cold_request, render_cold_request
    from bench.cold_start import measure_cold_start
    from bench.delivery import measure_delivery, render_delivery
    from bench.document import render_document
    from bench.gateway import measure_gateway
    from bench.ingress import measure_ingress
    from bench.ingress import render_section as render_ingress_section
    from bench.listing import LARGE_ORDERS, SEED_BUDGET_S, measure_list_latency
    from bench.marketplace import LARGE as LARGE_MARKET
    from bench.marketplace import measure_marketplace, render_marketplace
    from bench.overhead import comparisons, run_comparisons
    from bench.package_size import NotMeasured, measure_package
    from bench.partial import load_average
    from bench.payments import measure_payments
    from bench.report import (
        machine_facts,
        render_capacity,
        render_cold_start,
        render_gateway,
        render_list_latency,
        render_overhead,
        render_package,
        render_payments,
        render_sales,
    )
    from bench.report_charts import key_charts
    from bench.sales import LARGE_SALES, measure_sales
    from bench.scale import render_scale, scale_loads
    from bench.shipping import measure_shipping, render_shipping
    from bench.target import running_target

    started = time.monotonic()
    facts = [*machine_facts(ROOT), ("run", "quick (--quick: few iterations)" if args.quick else "full")]

    # Subprocess timings first, before the JVM and moto share the CPUs.
    _progress("Lambda init: fresh interpreters, interleaved")
    cold = measure_cold_start(ROOT, runs=5 if args.quick else 15)
    cold_start = render_cold_start(cold)
    print("\n## Lambda init (cold start)\n\n" + cold_start, flush=True)

    _progress("Lambda package size: pip install --target")
    package_report = NotMeasured("skipped (--no-package)") if args.no_package else measure_package(ROOT)
    package = render_package(package_report)
    print("\n## Lambda package size\n\n" + package, flush=True)

    _progress("starting DynamoDB Local + moto, provisioning, seeding")
    with running_target() as target:
        _progress("first request of a new container: fresh interpreters, interleaved")
        cold_request_report = measure_cold_request(target, runs=5 if args.quick else 15)
        cold_request = render_cold_request(cold_request_report)
        print("\n### First request of a new container\n\n" + cold_request, flush=True)

        _progress("consumed capacity per operation")
        capacity_rows = measure_capacity(target, runs=1 if args.quick else 3)
        capacity = render_capacity(capacity_rows)
        print("\n## Consumed capacity per operation\n\n" + capacity, flush=True)

        _progress("request overhead: full path against bare calls")
        overhead_results = run_comparisons(target, comparisons(target), scale=0.1 if args.quick else 1.0)
        overhead = render_overhead(overhead_results)
        print("\n## Request overhead\n\n" + overhead, flush=True)

        # Last: the seeded orders would otherwise sit in the table (and DynamoDB Local's memory) under the rest.
        budget = max(30.0, min(SEED_BUDGET_S, SEEDING_DEADLINE_S - (time.monotonic() - _STARTED)))
        _progress(f"list latency: seeding two tenants' orders ({budget:.0f} s budget), timing GET /orders on both")
        latency = measure_list_latency(
            target,
            large=10_000 if args.quick else LARGE_ORDERS,
            runs=5 if args.quick else 50,
            budget_s=budget,
            progress=_progress,
        )
        listing = render_list_latency(latency)
        print("\n## List latency\n\n" + listing, flush=True)

        _progress("gateway: Meta function vs bare SendMessage; relay throughput and latency")
        gateway_report = measure_gateway(
            target,
            iterations=50 if args.quick else 500,
            messages=60 if args.quick else 200,
            contacts=6 if args.quick else 20,
            single=12 if args.quick else 40,
            progress=_progress,
        )
        gateway = render_gateway(gateway_report)
        print("\n## WhatsApp <-> Bitrix24 gateway\n\n" + gateway, flush=True)

        _progress("shop assistant: one turn (deterministic, LLM on a zero-latency fake) vs the relay path alone")
        assistant = render_overhead(measure_assistant(target, iterations=30 if args.quick else 300, progress=_progress))
        print("\n## WhatsApp shop assistant\n\n" + assistant, flush=True)

        _progress(
            "sales tracking: seeding two companies' sales through the analytics consumer, timing lists and dashboard"
        )
        sales = render_sales(
            measure_sales(
                target,
                large=10_000 if args.quick else LARGE_SALES,
                runs=5 if args.quick else 50,
                progress=_progress,
            )
        )
        print("\n## Sales tracking by tenant size\n\n" + sales, flush=True)

        _progress("webhook ingress: every provider function against a bare SendMessage, interleaved")
        ingress_results = measure_ingress(target, iterations=30 if args.quick else 300, progress=_progress)
        ingress = render_ingress_section(
            ingress_results,
            load_average().removeprefix("load "),
            args.output.read_text() if args.output.exists() else "",
        )
        print("\n## Webhook ingress\n\n" + ingress, flush=True)

        _progress("payments: Stripe function vs bare SendMessage; links and confirmations per second")
        payments_report = measure_payments(
            target, iterations=50 if args.quick else 500, links=10 if args.quick else 60, progress=_progress
        )
        payments = render_payments(payments_report)
        print("\n## Payments\n\n" + payments, flush=True)

        _progress("shipping: a quote through the app vs the same calculate call straight to the fake MelhorEnvio")
        shipping = render_shipping(measure_shipping(target, iterations=20 if args.quick else 200, progress=_progress))
        print("\n## Shipping quotes\n\n" + shipping, flush=True)

        _progress("marketplace and finance: seeding listings and transactions, timing a search page and a balance read")
        market = render_marketplace(
            measure_marketplace(
                target,
                large=10_000 if args.quick else LARGE_MARKET,
                runs=5 if args.quick else 50,
                budget_s=30.0 if args.quick else 150.0,
                progress=_progress,
            )
        )
        print("\n## Marketplace and finance by data size\n\n" + market, flush=True)

        _progress("delivery platforms: iFood events polled into orders")
        delivery = render_delivery(measure_delivery(target, orders=20 if args.quick else 200, progress=_progress))
        print("\n## Delivery platforms\n\n" + delivery, flush=True)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    before = baseline(ROOT / "docs" / "perf" / "baseline.json")
    targets = render_budget(
        budget_targets(
            before,
            cold,
            overhead_results,
            gateway_report,
            payments_report,
            package_report,
            cold_request_report,
            ingress_results,
        ),
        before,
    )
    scale = render_scale(scale_loads(gateway_report, overhead_results, capacity_rows))
    charts = write_charts(
        key_charts(cold, latency, gateway_report), args.output.parent / "perf", relative_to=args.output.parent
    )
    print("\n## Performance budget (issue 20)\n\n" + targets + "\n\n## Scale\n\n" + scale, flush=True)
    document = render_document(
        facts,
        cold_start,
        overhead,
        capacity,
        package,
        listing,
        gateway,
        sales,
        payments,
        assistant=assistant,
        ingress=ingress,
        marketplace=market,
        shipping=shipping,
        budget=targets,
        imports=render_import_costs(cold, before),
        scale=scale,
        charts=charts,
        delivery=delivery,
        cold_request=cold_request,
    )
    args.output.write_text(document)
    _progress(f"wrote {args.output} in {time.monotonic() - started:.0f} s")
    return 0


def _partial(sections: list[str], output: Path, *, quick: bool) -> int:
    """Measure ``sections`` only and update them, and their budget rows, in ``output`` (bench/partial.py)."""
    from bench.budget import (
        Target,
        baseline,
        cold_targets,
        ingress_targets,
        package_targets,
        render_import_costs,
        request_targets,
    )
    from bench.cold_request import measure_cold_request, render_cold_request
    from bench.cold_start import measure_cold_start
    from bench.delivery import measure_delivery, render_delivery
    from bench.document import (
        COLD_START_HEADING,
        DELIVERY_HEADING,
        OVERHEAD_HEADING,
        PACKAGE_HEADING,
        SHIPPING_HEADING,
        cold_start_section,
        delivery_section,
        overhead_section,
    )
    from bench.ingress import SECTION as INGRESS_HEADING
    from bench.ingress import measure_ingress, render_section
    from bench.overhead import comparisons, run_comparisons
    from bench.package_size import measure_package
    from bench.partial import SECTIONS, before_line, load_average, previous_rows, update_document
    from bench.report import machine_facts, render_cold_start, render_overhead, render_package
    from bench.report_notes import PACKAGE_NOTES
    from bench.shipping import measure_shipping, render_shipping
    from bench.target import running_target

    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        print(f"unknown sections {unknown}; known: {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    before = baseline(ROOT / "docs" / "perf" / "baseline.json")
    loads = [load_average()]
    replaced: dict[str, str] = {}
    targets: list[Target] = []
    runs = 5 if quick else 15
    if "cold-start" in sections:
        _progress("Lambda init: fresh interpreters, interleaved")
        cold = measure_cold_start(ROOT, runs=runs)
    with running_target() as target:
        if "cold-start" in sections:
            _progress("first request of a new container: fresh interpreters, interleaved")
            first = measure_cold_request(target, runs=runs)
            targets += cold_targets(before, cold, first)
            replaced[COLD_START_HEADING] = cold_start_section(
                render_cold_start(cold), render_import_costs(cold, before), render_cold_request(first)
            )
        if "overhead" in sections:
            _progress("request overhead: full path against bare calls")
            results = run_comparisons(target, comparisons(target), scale=0.1 if quick else 1.0)
            replaced[OVERHEAD_HEADING] = overhead_section(render_overhead(results))
            targets += request_targets(before, results)
        if "shipping" in sections:
            _progress("shipping: a quote through the app vs the same calculate call straight to the fake MelhorEnvio")
            quotes = measure_shipping(target, iterations=20 if quick else 200, progress=_progress)
            replaced[SHIPPING_HEADING] = render_shipping(quotes)
        if "delivery" in sections:
            _progress("delivery platforms: iFood events polled into orders")
            polled = measure_delivery(target, orders=20 if quick else 200, progress=_progress)
            replaced[DELIVERY_HEADING] = delivery_section(render_delivery(polled))
        if "ingress" in sections:
            _progress("webhook ingress: every provider function against a bare SendMessage, interleaved")
            ingress = measure_ingress(target, iterations=30 if quick else 300, progress=_progress)
            replaced[INGRESS_HEADING] = render_section(
                ingress, load_average().removeprefix("load "), output.read_text()
            )
            targets += ingress_targets(before, ingress)
    if "package" in sections:
        _progress("Lambda package size: pip install --target, then each webhook function's asset")
        package = measure_package(ROOT)
        rows = previous_rows(output.read_text(), PACKAGE_HEADING)
        sizes = [(r[0].removeprefix("webhook function "), r[2]) for r in rows if r[0].startswith("webhook function")]
        sizes += [("the API's zip", r[1].strip("*")) for r in rows if r[0].startswith("**total zipped**")]
        before_sizes = before_line(sizes, "zipped")
        replaced[PACKAGE_HEADING] = render_package(package) + "\n\n" + PACKAGE_NOTES + before_sizes
        targets += package_targets(before, package)
    loads.append(load_average())
    commit = dict(machine_facts(ROOT))["commit"]
    document = update_document(
        output.read_text(), replaced, targets, sections=sections, commit=commit, load=" → ".join(loads)
    )
    output.write_text(document)
    for heading, body in replaced.items():
        print(f"\n{heading}\n\n{body}", flush=True)
    _progress(f"updated {', '.join(sections)} in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
