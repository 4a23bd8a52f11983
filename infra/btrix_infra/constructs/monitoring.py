"""Operations: one CloudWatch dashboard and the alarms, which notify an encrypted SNS topic.

Each ``watch_*`` method adds a dashboard row and the alarms of one kind of resource, so a new function, queue or
state machine is watched by one more call (the stack makes them; see ``BtrixStack``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from btrix_infra.stage import StageNames

__all__ = ["BUSINESS_METRICS", "BUSINESS_NAMESPACE", "GATEWAY_METRICS", "Monitoring", "WatchedFunction"]

# EMF metrics the application emits through Powertools (namespace BTRIX, dimension service=btrix).
BUSINESS_NAMESPACE = "BTRIX"
BUSINESS_METRICS = ("OrdersCreated", "MessagesRelayed", "NotificationsFailed", "EventsPublished")
_SERVICE_DIMENSION = {"service": "btrix"}
# The WhatsApp <-> Bitrix24 gateway's EMF metrics, one series per channel (dimensions service, channelId).
GATEWAY_METRICS = (
    ("MessagesIn", "Sum"),
    ("MessagesOut", "Sum"),
    ("RelayFailures", "Sum"),
    ("MessagesNotSent", "Sum"),
    ("MessagesFailed", "Sum"),
    ("MediaFailures", "Sum"),
    ("RelayLatency", "p95"),
)
_FIVE_MINUTES = Duration.minutes(5)
_WIDTH = 24


@dataclass(frozen=True)
class WatchedFunction:
    """A Lambda function to watch: its name (a token is fine) and its log group (for cold-start durations)."""

    label: str
    function_name: str
    log_group_name: str


def _metric(namespace: str, name: str, dimensions: Mapping[str, str], statistic: str, label: str) -> cw.Metric:
    return cw.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map=dict(dimensions),
        statistic=statistic,
        period=_FIVE_MINUTES,
        label=label,
    )


class Monitoring(Construct):
    """The stage's dashboard, its alarms and the topic they notify (optionally subscribed by e-mail)."""

    def __init__(
        self, scope: Construct, id: str, *, names: StageNames, key: kms.IKey, alarm_email: str | None = None
    ) -> None:
        super().__init__(scope, id)
        self._names = names
        self.topic = sns.Topic(self, "AlarmTopic", topic_name=names.infra("alarms"), master_key=key, enforce_ssl=True)
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.dashboard = cw.Dashboard(
            self, "Dashboard", dashboard_name=names.infra("operations"), default_interval=Duration.hours(6)
        )
        self.alarms: dict[str, cw.Alarm] = {}

    def _alarm(self, id: str, metric: cw.IMetric, *, threshold: float, description: str) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            id,
            alarm_name=f"{self._names.prefix}-{id}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms[id] = alarm
        return alarm

    def _section(self, title: str) -> None:
        self.dashboard.add_widgets(cw.TextWidget(markdown=f"## {title}", width=_WIDTH, height=1))

    def watch_api(self, *, api_name: str, stage: str, error_rate_threshold: float) -> None:
        """Latency percentiles, 4xx/5xx counts; alarm when the 5xx share of requests reaches the threshold."""
        dims = {"ApiName": api_name, "Stage": stage}
        latency = [_metric("AWS/ApiGateway", "Latency", dims, p, p) for p in ("p50", "p95", "p99")]
        requests = _metric("AWS/ApiGateway", "Count", dims, "Sum", "requests")
        client_errors = _metric("AWS/ApiGateway", "4XXError", dims, "Sum", "4xx")
        server_errors = _metric("AWS/ApiGateway", "5XXError", dims, "Sum", "5xx")
        self._section("API")
        self.dashboard.add_widgets(
            cw.GraphWidget(title="API latency (ms)", left=latency, width=12),
            cw.GraphWidget(
                title="API requests and errors", left=[requests], right=[client_errors, server_errors], width=12
            ),
        )
        rate = cw.MathExpression(
            expression="IF(requests > 0, errors / requests, 0)",
            using_metrics={"requests": requests, "errors": server_errors},
            period=_FIVE_MINUTES,
            label="5xx share",
        )
        self._alarm(
            "api-5xx-rate",
            rate,
            threshold=error_rate_threshold,
            description=f"At least {error_rate_threshold:.0%} of API requests answered 5xx over 5 minutes",
        )

    def watch_functions(self, functions: Sequence[WatchedFunction]) -> None:
        """Errors, throttles and durations per function, cold-start (init) durations from the REPORT log lines."""
        if not functions:
            return
        self._section("Lambda")
        widgets: list[cw.IWidget] = []
        for function in functions:
            dims = {"FunctionName": function.function_name}
            errors = _metric("AWS/Lambda", "Errors", dims, "Sum", "errors")
            throttles = _metric("AWS/Lambda", "Throttles", dims, "Sum", "throttles")
            durations = [_metric("AWS/Lambda", "Duration", dims, p, f"duration {p}") for p in ("p50", "p99")]
            widgets.append(
                cw.GraphWidget(
                    title=f"{function.label}: errors, throttles, duration (ms)",
                    left=[errors, throttles],
                    right=durations,
                    width=8,
                )
            )
            self._alarm(
                f"throttles-{function.label}",
                throttles,
                threshold=1,
                description=f"Lambda {function.label} was throttled (concurrency limit reached)",
            )
        self.dashboard.add_widgets(*widgets)
        # Init duration is not a CloudWatch metric: Lambda reports it only in the REPORT line of a cold start.
        self.dashboard.add_widgets(
            cw.LogQueryWidget(
                title="Cold starts: init duration (ms) per function",
                log_group_names=[f.log_group_name for f in functions],
                query_lines=[
                    'filter @type = "REPORT" and ispresent(@initDuration)',
                    "stats count(*) as coldStarts, avg(@initDuration) as avgInit, pct(@initDuration, 99) as p99Init"
                    " by @log",
                ],
                view=cw.LogQueryVisualizationType.TABLE,
                width=_WIDTH,
            )
        )

    def watch_stream(self, *, label: str, function_name: str, max_age: Duration) -> None:
        """How far behind a stream consumer is (IteratorAge); alarm past ``max_age``."""
        age = _metric("AWS/Lambda", "IteratorAge", {"FunctionName": function_name}, "Maximum", "iterator age")
        self.dashboard.add_widgets(cw.GraphWidget(title=f"{label}: stream iterator age (ms)", left=[age], width=12))
        self._alarm(
            f"stream-lag-{label}",
            age,
            threshold=max_age.to_milliseconds(),
            description=f"{label} is more than {max_age.to_minutes()} minutes behind the table stream",
        )

    def watch_queues(self, queues: Mapping[str, tuple[sqs.IQueue, sqs.IQueue]]) -> None:
        """Per job queue: age of the oldest message; per dead-letter queue: depth, alarmed when not empty."""
        self._section("Queues")
        ages = [
            q.metric_approximate_age_of_oldest_message(statistic="Maximum", period=_FIVE_MINUTES, label=label)
            for label, (q, _) in queues.items()
        ]
        self.dashboard.add_widgets(cw.GraphWidget(title="Age of oldest message (s)", left=ages, width=12))
        self.watch_dead_letters({label: dlq for label, (_, dlq) in queues.items()})

    def watch_dead_letters(self, dead_letters: Mapping[str, sqs.IQueue]) -> None:
        """Depth of each dead-letter queue; an alarm as soon as one holds a message."""
        depths = []
        for label, dlq in dead_letters.items():
            depth = dlq.metric_approximate_number_of_messages_visible(
                statistic="Maximum", period=Duration.minutes(1), label=label
            )
            depths.append(depth)
            self._alarm(
                f"dlq-{label}",
                depth,
                threshold=1,
                description=f"Dead-letter queue of {label} is not empty: inspect and redrive (docs/DEPLOY.md)",
            )
        self.dashboard.add_widgets(cw.GraphWidget(title="Dead-letter queue depth", left=depths, width=12))

    def watch_table(self, *, table_name: str, index_names: Sequence[str]) -> None:
        """Consumed capacity and throttled requests (table and each GSI); alarm on any throttling."""
        self._section("DynamoDB")
        scopes = [({"TableName": table_name}, "table")] + [
            ({"TableName": table_name, "GlobalSecondaryIndexName": i}, i) for i in index_names
        ]
        consumed = [
            _metric("AWS/DynamoDB", f"Consumed{kind}CapacityUnits", {"TableName": table_name}, "Sum", kind.lower())
            for kind in ("Read", "Write")
        ]
        throttles = [
            _metric("AWS/DynamoDB", f"{kind}ThrottleEvents", dims, "Sum", f"{label} {kind.lower()}")
            for dims, label in scopes
            for kind in ("Read", "Write")
        ]
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Consumed capacity units", left=consumed, width=12),
            cw.GraphWidget(title="Throttle events", left=throttles, width=12),
        )
        total = cw.MathExpression(
            expression=" + ".join(f"FILL(t{i}, 0)" for i in range(len(throttles))),
            using_metrics={f"t{i}": metric for i, metric in enumerate(throttles)},
            period=_FIVE_MINUTES,
            label="throttle events",
        )
        self._alarm("dynamodb-throttles", total, threshold=1, description="DynamoDB throttled requests")

    def watch_state_machines(self, machines: Mapping[str, sfn.IStateMachine]) -> None:
        """Failed and timed-out executions: of every machine of the stage (a search, so machines the application
        creates at run time show too), and per machine given here, each alarmed on either."""
        self._section("Workflows")
        searches = [
            cw.MathExpression(
                expression=f'SEARCH(\'{{AWS/States,StateMachineArn}} MetricName="{metric}" "{self._names.prefix}-"\','
                " 'Sum', 300)",
                using_metrics={},
                label=label,
                period=_FIVE_MINUTES,
            )
            for metric, label in (("ExecutionsFailed", "failed"), ("ExecutionsTimedOut", "timed out"))
        ]
        widgets: list[cw.IWidget] = [
            cw.GraphWidget(title="All state machines: failed and timed-out executions", left=searches, width=12)
        ]
        for name, machine in machines.items():
            failed = machine.metric_failed(statistic="Sum", period=_FIVE_MINUTES, label="failed")
            timed_out = machine.metric_timed_out(statistic="Sum", period=_FIVE_MINUTES, label="timed out")
            widgets.append(cw.GraphWidget(title=f"{name}: executions", left=[failed, timed_out], width=8))
            problems = cw.MathExpression(
                expression="FILL(failed, 0) + FILL(timedOut, 0)",
                using_metrics={"failed": failed, "timedOut": timed_out},
                period=_FIVE_MINUTES,
                label="failed or timed out",
            )
            self._alarm(
                f"failures-{name.removeprefix(self._names.prefix + '-')}",
                problems,
                threshold=1,
                description=f"State machine {name} has failed or timed-out executions",
            )
        self.dashboard.add_widgets(*widgets)

    def watch_business_metrics(self, metrics: Sequence[str] = BUSINESS_METRICS) -> None:
        """The application's EMF counters (orders created, messages relayed, notifications failed, …)."""
        self._section("Business")
        self.dashboard.add_widgets(
            *[
                cw.GraphWidget(
                    title=name,
                    left=[_metric(BUSINESS_NAMESPACE, name, _SERVICE_DIMENSION, "Sum", name)],
                    width=6,
                )
                for name in metrics
            ]
        )

    def watch_gateway(self, metrics: Sequence[tuple[str, str]] = GATEWAY_METRICS) -> None:
        """The gateway per WhatsApp channel: messages in and out, failures, relay latency (p95, ms). A search, so
        every channel a tenant connects shows without a deploy."""
        self._section("WhatsApp <-> Bitrix24 gateway (per channel)")
        widgets: list[cw.IWidget] = []
        for name, statistic in metrics:
            search = cw.MathExpression(
                expression=f"SEARCH('{{{BUSINESS_NAMESPACE},channelId,service}} MetricName=\"{name}\"', "
                f"'{statistic}', 300)",
                using_metrics={},
                label=name,
                period=_FIVE_MINUTES,
            )
            widgets.append(cw.GraphWidget(title=f"{name} ({statistic})", left=[search], width=8))
        self.dashboard.add_widgets(*widgets)
