"""Scale on paper: from what this run measured per WhatsApp message and per API request, the Lambda concurrency,
SQS and DynamoDB capacity a load needs, set against the AWS quotas it would meet, the first one named.

Nothing here is measured in AWS: per-message and per-request costs come from this run (AWS calls and DynamoDB units
counted by ``bench.capacity.CapacityMeter``, CPU time and latency from the gateway and overhead benches), and the
time a call takes in AWS is an assumption stated with the table (``AWS_CALL_MS``, ``PROVIDER_CALL_MS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.capacity import CapacityRow
from bench.gateway import GatewayReport
from bench.overhead import OverheadResult
from chalicelib.core.resources import QUEUES, QueueKind
from chalicelib.inbound.receipts import RECEIPT_SHARDS

__all__ = ["QUOTAS", "Load", "Quota", "render_scale", "scale_loads"]

# Assumptions: an in-region DynamoDB or SQS call from Lambda, and a provider's HTTPS API (Bitrix24, Meta's Graph).
AWS_CALL_MS = 8.0
PROVIDER_CALL_MS = 250.0
# Provider calls per relayed message of a known conversation: imconnector.send.messages, and Meta's read receipt.
PROVIDER_CALLS_PER_MESSAGE = 2
# The API request the per-tenant load is made of, and its rows in the overhead and capacity tables.
_API_REQUEST = "GET /orders/{id}"


@dataclass(frozen=True)
class Quota:
    """An AWS default quota: its value, its unit and where AWS documents it."""

    name: str
    value: float
    source: str


_LAMBDA = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
_SQS = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html"
_DYNAMODB = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html"
_API_GATEWAY = "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html"
QUOTAS = {
    "lambda": Quota("Lambda concurrent executions per Region (default, adjustable)", 1_000, _LAMBDA),
    "fifo_ht": Quota(
        "SQS FIFO high-throughput mode, transactions/s per API action per queue (us-east-1, us-west-2, eu-west-1;"
        " lower elsewhere)",
        70_000,
        _SQS,
    ),
    "fifo": Quota("SQS FIFO default mode, transactions/s per API action per queue", 300, _SQS),
    "table_read": Quota("DynamoDB on-demand read request units/s per table (default, adjustable)", 40_000, _DYNAMODB),
    "table_write": Quota("DynamoDB on-demand write request units/s per table (default, adjustable)", 40_000, _DYNAMODB),
    "partition_write": Quota("DynamoDB write units/s per partition", 1_000, _DYNAMODB),
    "api": Quota("API Gateway REST requests/s per account per Region (default, adjustable)", 10_000, _API_GATEWAY),
}


@dataclass(frozen=True)
class Load:
    """One load: what it needs of each quota (by ``QUOTAS`` key), and how that was derived."""

    label: str
    needs: dict[str, float]
    notes: list[str]

    def first_hit(self) -> tuple[str, float]:
        """The quota the load meets first (largest need / quota), and that ratio."""
        key = max(self.needs, key=lambda k: self.needs[k] / QUOTAS[k].value)
        return key, self.needs[key] / QUOTAS[key].value


def _queue_concurrency(kind: QueueKind) -> int:
    return next(q.max_concurrency for q in QUEUES if q.kind == kind)


def _whatsapp(rate: int, gateway: GatewayReport) -> Load:
    cost = gateway.cost
    if cost is None:
        raise ValueError("the gateway report has no metered burst")
    aws_calls = sum(count for name, count in cost.calls.items() if " " not in name)
    ingress_ms = gateway.ingress.full.median
    consumer_ms = cost.cpu_ms + aws_calls * AWS_CALL_MS + PROVIDER_CALLS_PER_MESSAGE * PROVIDER_CALL_MS
    sqs_calls = cost.calls.get("sqs", 0.0)
    # Receipts: the Powertools record's PutItem and UpdateItem, spread over RECEIPT_SHARDS partitions per provider.
    receipt_writes = 2 * rate / RECEIPT_SHARDS
    needs = {
        "lambda": rate * (ingress_ms + consumer_ms) / 1000,
        "fifo_ht": rate,  # SendMessage once per message (ReceiveMessage and DeleteMessage about as often)
        "table_read": rate * cost.read_units,
        "table_write": rate * cost.write_units,
        "partition_write": receipt_writes,
    }
    notes = [
        f"Lambda: {rate:,} msg/s x ({ingress_ms:.1f} ms webhook function + {consumer_ms:.0f} ms consumer) = "
        f"{needs['lambda']:,.0f} concurrent; the consumer's time is {cost.cpu_ms:.1f} ms CPU (this process, "
        f"fakes included) + {aws_calls:.1f} AWS calls x {AWS_CALL_MS:.0f} ms + {PROVIDER_CALLS_PER_MESSAGE} provider "
        f"calls x {PROVIDER_CALL_MS:.0f} ms; the conversation queue's event source runs at most "
        f"{_queue_concurrency(QueueKind.WHATSAPP_INBOUND):,} (QueueDef.max_concurrency)",
        f"SQS: {sqs_calls:.1f} SQS calls per message measured (SendMessage, ReceiveMessage, DeleteMessage); the FIFO "
        f"queue's SendMessage alone is {rate:,}/s, against {QUOTAS['fifo'].value:,.0f}/s in default mode",
        f"DynamoDB: {cost.read_units:.1f} read and {cost.write_units:.1f} write units per message measured "
        f"({rate * cost.read_units:,.0f} RRU/s, {rate * cost.write_units:,.0f} WRU/s); webhook receipts spread over "
        f"{RECEIPT_SHARDS} partitions per provider: {receipt_writes:,.0f} WCU/s on each",
    ]
    return Load(f"WhatsApp {rate:,} messages/s", needs, notes)


def _api(tenants: int, per_tenant: int, overhead: Sequence[OverheadResult], capacity: Sequence[CapacityRow]) -> Load:
    rate = tenants * per_tenant
    request = next(r for r in overhead if r.label.startswith(_API_REQUEST) and "3 bare" in r.label)
    row = next(r for r in capacity if r.label.startswith(_API_REQUEST))
    duration_ms = request.full.median
    needs = {
        "api": rate,
        "lambda": rate * duration_ms / 1000,
        "table_read": rate * row.read_units,
    }
    notes = [
        f"{per_tenant} requests/s x {tenants:,} tenants = {rate:,} {_API_REQUEST}/s; API Gateway also applies the "
        "stage's throttle (infra StageConfig.throttle_rate, 200/s in prod) and each plan's usage plan below it",
        f"Lambda: {rate:,}/s x {duration_ms:.1f} ms (this run's median through the app) = "
        f"{needs['lambda']:,.0f} concurrent",
        f"DynamoDB: {row.read_units:g} read units per request measured (the guard's BatchGetItem of user and tenant,"
        f" the order) = {needs['table_read']:,.0f} RRU/s; per tenant {per_tenant * row.read_units:g} RRU/s on its "
        "own partitions (3 000 per partition)",
    ]
    return Load(f"{per_tenant} requests/s per tenant x {tenants:,} tenants", needs, notes)


def scale_loads(
    gateway: GatewayReport, overhead: Sequence[OverheadResult], capacity: Sequence[CapacityRow]
) -> list[Load]:
    """The loads of issue 20: 1 000 and 10 000 WhatsApp messages/s, 100 requests/s per tenant x 1 000 tenants."""
    return [_whatsapp(1_000, gateway), _whatsapp(10_000, gateway), _api(1_000, 100, overhead, capacity)]


def render_scale(loads: Sequence[Load]) -> str:
    """Per load: its needs against the quotas (the first hit in bold), then how each need was derived."""
    parts = []
    for load in loads:
        first, ratio = load.first_hit()
        verdict = f"within every default quota (highest: {ratio:.0%} of" if ratio <= 1 else f"first hit: {ratio:.1f}x"
        lines = [f"**{load.label}: {verdict} {QUOTAS[first].name}{')' if ratio <= 1 else ''}**", ""]
        lines += ["| quota | needed | default quota | share |", "| --- | ---: | ---: | ---: |"]
        for key, need in sorted(load.needs.items(), key=lambda kv: -kv[1] / QUOTAS[kv[0]].value):
            quota = QUOTAS[key]
            name = f"[{quota.name}]({quota.source})"
            share = f"{need / quota.value:.0%}"
            lines.append(
                f"| {'**' + name + '**' if key == first else name} | {need:,.0f} | {quota.value:,.0f} | {share} |"
            )
        lines += ["", *[f"- {note}" for note in load.notes]]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
