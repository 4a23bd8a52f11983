"""Issue 20's performance budget: each target, what this run measured, and the baseline before the issue's work
(``docs/perf/baseline.json``, the figures of the last run before it), in one table at the top of the report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cold_request import ColdRequestReport
from bench.cold_start import ColdStartReport
from bench.gateway import CONSUMERS, GatewayReport
from bench.overhead import OverheadResult
from bench.package_size import NotMeasured, PackageReport
from bench.payments import PaymentsReport

__all__ = [
    "FIRST_REQUEST",
    "Target",
    "budget_row",
    "budget_targets",
    "cold_targets",
    "ingress_targets",
    "package_targets",
    "render_budget",
    "render_import_costs",
    "request_targets",
]

_MIB = 1024 * 1024
FIRST_REQUEST = "first GET /orders/{id} of a new container / floor + 1 bare GetItem"


@dataclass(frozen=True)
class Target:
    """One target: what is measured, its bound (``None``: reported, no bound), the baseline and this run."""

    label: str
    bound: float | None
    baseline: float | None
    measured: float | None
    unit: str = "x"

    @property
    def met(self) -> bool | None:
        """Whether this run meets the bound (None when there is no bound or nothing was measured)."""
        if self.bound is None or self.measured is None:
            return None
        return self.measured <= self.bound


def _ratio(results: Sequence[OverheadResult], label: str) -> float | None:
    return next((r.ratio for r in results if r.label.startswith(label)), None)


def baseline(path: Path) -> dict[str, Any]:
    """The recorded figures of the run before (empty when there is no file)."""
    return dict(json.loads(path.read_text())) if path.exists() else {}


def cold_targets(before: dict[str, Any], cold: ColdStartReport, first: ColdRequestReport | None) -> list[Target]:
    """Issue 20's cold path targets: a new container's first request, and ``import app`` alone."""
    return [
        Target(FIRST_REQUEST, 1.6, before.get("cold_get_order_over_floor_get"), first.ratio if first else None),
        Target("import app / floor", 1.6, before.get("import_app_over_floor"), cold.ratio),
    ]


def request_targets(before: dict[str, Any], overhead: Sequence[OverheadResult]) -> list[Target]:
    """Issue 20's request overhead targets: a read and a page of orders against their bare calls."""
    return [
        Target(
            "GET /orders/{id} / its bare calls with the guard's reads",
            1.3,
            before.get("get_order_over_bare_with_guard"),
            _ratio(overhead, "GET /orders/{id} vs 3 bare"),
        ),
        Target(
            "GET /orders?limit=25 / its bare calls with the guard's reads",
            1.3,
            before.get("list_orders_over_bare_with_guard"),
            _ratio(overhead, "GET /orders?limit=25 vs 2 bare"),
        ),
    ]


INGRESS_BOUND = 1.3
SLOWEST_FUNCTION = "slowest webhook function / bare SendMessage"
LARGEST_ASSET = "largest webhook function asset (zipped)"


def ingress_targets(before: dict[str, Any], ingress: Sequence[OverheadResult]) -> list[Target]:
    """Issue 20's webhook ingress target, for the Meta and Stripe functions and the slowest of all."""
    slowest = max(ingress, key=lambda r: r.ratio, default=None)
    return [
        Target(
            "Meta webhook function / bare SendMessage",
            INGRESS_BOUND,
            before.get("meta_ingress_over_send"),
            _ratio(ingress, "Meta function"),
        ),
        Target(
            "Stripe webhook function / bare SendMessage",
            INGRESS_BOUND,
            before.get("stripe_ingress_over_send"),
            _ratio(ingress, "Stripe function"),
        ),
        Target(
            SLOWEST_FUNCTION, INGRESS_BOUND, before.get("slowest_ingress_over_send"), slowest.ratio if slowest else None
        ),
    ]


def package_targets(before: dict[str, Any], package: PackageReport | NotMeasured) -> list[Target]:
    """Issue 20's package targets: the API's zip, and the largest webhook function's asset."""
    zipped = package.zipped / _MIB if isinstance(package, PackageReport) else None
    assets = package.assets if isinstance(package, PackageReport) else []
    largest = max((size for _, _, size in assets), default=None)
    return [
        Target("Lambda zip", 30.0, before.get("zip_mib"), zipped, "MiB"),
        Target(
            LARGEST_ASSET,
            10.0,
            before.get("largest_asset_mib"),
            largest / _MIB if largest is not None else None,
            "MiB",
        ),
    ]


def budget_targets(
    before: dict[str, Any],
    cold: ColdStartReport,
    overhead: Sequence[OverheadResult],
    gateway: GatewayReport,
    payments: PaymentsReport,
    package: PackageReport | NotMeasured,
    cold_request: ColdRequestReport | None = None,
    ingress: Sequence[OverheadResult] = (),
) -> list[Target]:
    """The targets of issue 20 that ``make bench`` measures, in the issue's order. The webhook rows come from the
    ingress section's one interleaved run of every function when it ran, else from the gateway's and payments'."""
    relay_before = before.get("relay_per_second", {})
    webhooks = (
        ingress_targets(before, ingress)
        if ingress
        else [
            Target(
                "Meta webhook function / bare SendMessage",
                INGRESS_BOUND,
                before.get("meta_ingress_over_send"),
                gateway.ingress.ratio,
            ),
            Target(
                "Stripe webhook function / bare SendMessage",
                INGRESS_BOUND,
                before.get("stripe_ingress_over_send"),
                payments.ingress.ratio,
            ),
        ]
    )
    targets = [
        *cold_targets(before, cold, cold_request),
        *request_targets(before, overhead),
        *webhooks,
        *package_targets(before, package),
    ]
    for consumers in CONSUMERS:
        run = gateway.burst(consumers)
        targets.append(
            Target(
                f"relay burst, {consumers} consumer{'s' if consumers > 1 else ''}",
                None,
                relay_before.get(str(consumers)),
                run.per_second if run else None,
                "msg/s",
            )
        )
    return targets


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if unit == "x" else f"{value:.1f} {unit}"


def budget_row(t: Target) -> str:
    """One target as a row of the budget table: label, bound, baseline, this run, met."""
    met = {True: "yes", False: "**no**", None: ""}[t.met]
    bound = "" if t.bound is None else (f"≤ {t.bound:g}" if t.unit == "x" else f"≤ {t.bound:g} {t.unit}")
    return f"| {t.label} | {bound} | {_value(t.baseline, t.unit)} | {_value(t.measured, t.unit)} | {met} |"


def render_budget(targets: Sequence[Target], before: dict[str, Any]) -> str:
    """The targets as a table: bound, baseline, this run, met."""
    rows = [budget_row(t) for t in targets]
    head = ["| target | bound | before | this run | met |", "| --- | ---: | ---: | ---: | --- |"]
    source = f"Before: {before['run']}." if "run" in before else "No baseline recorded."
    return "\n".join([*head, *rows]) + "\n\n" + source


def render_import_costs(cold: ColdStartReport, before: dict[str, Any]) -> str:
    """``-X importtime`` per top-level package, this run beside the baseline's."""
    was: dict[str, float] = before.get("import_ms", {})
    now = {cost.package: cost.milliseconds for cost in cold.import_costs}
    names = sorted(set(was) | set(now), key=lambda name: -max(was.get(name, 0.0), now.get(name, 0.0)))
    rows = [f"| {name} | {_value(was.get(name), 'ms')} | {_value(now.get(name), 'ms')} |" for name in names]
    return "\n".join(["| package | before | this run |", "| --- | ---: | ---: |", *rows])
