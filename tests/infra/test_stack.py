"""The synthesized stack: every resource the code relies on exists, with the properties and the least privilege."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from chalicelib.core.db.table import INDEXES, PARTITION_KEY, SORT_KEY, STREAM_VIEW_TYPE, TTL_ATTRIBUTE
from chalicelib.core.problems import GATEWAY_RESPONSES, PROBLEM_CONTENT_TYPE
from chalicelib.core.resources import QUEUES, RULES, SECRETS
from chalicelib.core.tenant_access import TENANT_ACTIONS
from chalicelib.plans.catalog import PLANS
from tests.infra.conftest import Synthesized


def resources(document: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in document["Resources"].items() if r["Type"] == kind}


def only(document: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    found = resources(document, kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.items()))


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in resources(document, "AWS::IAM::Policy").values():
        found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_table_follows_the_shared_definition(synthesized: Synthesized, stage: str) -> None:
    synthesized.templates[stage].has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": f"btrix-{stage}",
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": [
                Match.object_like({"IndexName": i.name, "Projection": {"ProjectionType": "ALL"}}) for i in INDEXES
            ],
            "StreamSpecification": {"StreamViewType": STREAM_VIEW_TYPE},
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )


def test_prod_table_is_protected_and_kept_dev_table_is_not(synthesized: Synthesized) -> None:
    _, prod = only(synthesized.documents["prod"], "AWS::DynamoDB::Table")
    _, dev = only(synthesized.documents["dev"], "AWS::DynamoDB::Table")
    assert prod["Properties"]["DeletionProtectionEnabled"] is True
    assert prod["DeletionPolicy"] == "Retain"
    assert dev["Properties"].get("DeletionProtectionEnabled", False) is False
    assert dev["DeletionPolicy"] == "Delete"
    assert synthesized.stacks["prod"].termination_protection
    assert not synthesized.stacks["dev"].termination_protection


def test_every_queue_has_its_dlq_with_redrive_and_fifo_where_defined(synthesized: Synthesized) -> None:
    document = synthesized.documents["dev"]
    queues = {
        r["Properties"]["QueueName"]: (name, r["Properties"])
        for name, r in resources(document, "AWS::SQS::Queue").items()
    }
    for definition in QUEUES:
        suffix = ".fifo" if definition.fifo else ""
        _, queue = queues[f"btrix-dev-{definition.kind.value}{suffix}"]
        dlq_id, dlq = queues[f"btrix-dev-{definition.kind.value}-dlq{suffix}"]
        assert queue["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "maxReceiveCount": definition.max_receive_count,
        }
        assert queue["VisibilityTimeout"] == definition.visibility_timeout_s
        assert queue.get("FifoQueue", False) is definition.fifo
        assert dlq.get("FifoQueue", False) is definition.fifo
        assert dlq["MessageRetentionPeriod"] == definition.dlq_retention_s
        assert queue["SqsManagedSseEnabled"] is True
        # FIFO queues in high-throughput mode: a default-mode FIFO queue takes 300 sends/s in all.
        high_throughput = {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
        assert {k: queue.get(k) for k in high_throughput} == (
            high_throughput if definition.fifo else dict.fromkeys(high_throughput)
        )


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_queue_consumer_runs_at_most_its_queues_concurrency_and_reserves_it_where_asked(
    synthesized: Synthesized, stage: str
) -> None:
    document = synthesized.documents[stage]
    queue_ids = {
        name: r["Properties"]["QueueName"].removeprefix(f"btrix-{stage}-").removesuffix(".fifo")
        for name, r in resources(document, "AWS::SQS::Queue").items()
    }
    by_kind = {definition.kind.value: definition for definition in QUEUES}
    consumed = set()
    for name, function in resources(document, "AWS::Serverless::Function").items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            definition = by_kind[queue_ids[event["Properties"]["Queue"]["Fn::GetAtt"][0]]]
            consumed.add(definition.kind)
            assert event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": definition.max_concurrency}, name
            reserved = definition.reserved_concurrency if stage == "prod" else None
            assert function["Properties"].get("ReservedConcurrentExecutions") == reserved, name
    assert consumed == {definition.kind for definition in QUEUES}
    assert any(definition.reserved_concurrency for definition in QUEUES)


def test_every_dead_letter_queue_has_an_alarm_to_the_topic(synthesized: Synthesized) -> None:
    document = synthesized.documents["dev"]
    topic, _ = only(document, "AWS::SNS::Topic")
    dead_letter_queues = {
        name for name, r in resources(document, "AWS::SQS::Queue").items() if "RedrivePolicy" not in r["Properties"]
    }
    # The job DLQs and the outbox publisher's on-failure queue.
    assert len(dead_letter_queues) == len(QUEUES) + 1
    alarmed = set()
    for alarm in resources(document, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        for metric in props.get("Metrics", []):
            stat = metric.get("MetricStat", {}).get("Metric", {})
            if stat.get("MetricName") == "ApproximateNumberOfMessagesVisible":
                assert props["Threshold"] == 1
                assert props["AlarmActions"] == [{"Ref": topic}]
                alarmed.add(stat["Dimensions"][0]["Value"]["Fn::GetAtt"][0])
    assert alarmed == dead_letter_queues


def test_outbox_publisher_reads_the_stream_with_partial_failures_and_a_failure_destination(
    synthesized: Synthesized,
) -> None:
    template = synthesized.templates["dev"]
    template.has_resource_properties(
        "AWS::Lambda::Function", {"Handler": "functions.outbox_publisher.handler", "Runtime": "python3.11"}
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [Match.string_like_regexp("DataTable"), "StreamArn"]},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": Match.any_value(),
            "StartingPosition": "TRIM_HORIZON",
            "DestinationConfig": {
                "OnFailure": {"Destination": {"Fn::GetAtt": [Match.string_like_regexp("OutboxFailures"), "Arn"]}}
            },
        },
    )
    _, mapping = only(synthesized.documents["dev"], "AWS::Lambda::EventSourceMapping")
    pattern = json.loads(mapping["Properties"]["FilterCriteria"]["Filters"][0]["Pattern"])
    assert pattern == {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"entity": {"S": ["Event"]}}}}


def test_api_handler_is_chalice_with_stage_environment_and_tenant_role(synthesized: Synthesized) -> None:
    document = synthesized.documents["dev"]
    function = document["Resources"]["APIHandler"]
    assert function["Type"] == "AWS::Serverless::Function"
    assert document["Transform"] == "AWS::Serverless-2016-10-31"
    variables = function["Properties"]["Environment"]["Variables"]
    tenant_role, _ = next(
        (name, r) for name, r in resources(document, "AWS::IAM::Role").items() if "TenantAccess" in name
    )
    assert variables["BTRIX_STAGE"] == "dev"
    assert variables["POWERTOOLS_SERVICE_NAME"] == "btrix"
    assert variables["BTRIX_TENANT_ROLE_ARN"] == {"Fn::GetAtt": [tenant_role, "Arn"]}
    assert variables["BTRIX_TABLE_NAME"] == {"Ref": only(document, "AWS::DynamoDB::Table")[0]}
    assert function["Properties"]["Timeout"] == 29


def test_tenant_role_is_assumable_by_the_app_role_and_limited_to_the_table(synthesized: Synthesized) -> None:
    document = synthesized.documents["dev"]
    role_id, role = next((n, r) for n, r in resources(document, "AWS::IAM::Role").items() if "TenantAccess" in n)
    app_role = document["Resources"]["APIHandler"]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"AWS": {"Fn::GetAtt": [app_role, "Arn"]}}}
    ]
    policies = [
        p for p in resources(document, "AWS::IAM::Policy").values() if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    granted = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert len(granted) == 1
    assert sorted(granted[0]["Action"]) == sorted(TENANT_ACTIONS)
    table = only(document, "AWS::DynamoDB::Table")[0]
    assert granted[0]["Resource"][0] == {"Fn::GetAtt": [table, "Arn"]}
    assert [r["Fn::Join"][1][1] for r in granted[0]["Resource"][1:]] == [f"/index/{i.name}" for i in INDEXES]
    assume = [s for s in statements(document) if s["Action"] == "sts:AssumeRole"]
    assert assume == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [role_id, "Arn"]},
            "Sid": "TenantSessions",
        }
    ]


# What Step Functions needs to deliver execution logs (CDK grants it with the log destination).
_LOG_DELIVERY = {
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
}


def test_policies_grant_no_wildcard_action_no_scan_and_no_resource_star_but_list_streams(
    synthesized: Synthesized,
) -> None:
    # The only grants on "*": APIs that support no resource-level permission.
    unscoped = {
        "dynamodb:ListStreams",
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
    }
    for statement in statements(synthesized.documents["dev"]):
        actions = as_list(statement["Action"])
        assert not any(a == "*" or a.endswith(":*") for a in actions), statement
        assert "dynamodb:Scan" not in actions
        if "*" in as_list(statement["Resource"]):
            assert set(actions) <= unscoped | _LOG_DELIVERY, statement


def test_the_app_may_send_email_through_ses_identities_of_the_account(synthesized: Synthesized) -> None:
    [grant] = [s for s in statements(synthesized.documents["dev"]) if "ses:SendEmail" in as_list(s["Action"])]
    assert as_list(grant["Action"]) == ["ses:SendEmail"]
    arn = json.dumps(grant["Resource"])  # a Fn::Join of partition, region and account
    assert ":ses:" in arn
    assert ":identity/*" in arn


def test_key_secrets_and_bucket_are_encrypted_and_private(synthesized: Synthesized) -> None:
    document = synthesized.documents["dev"]
    template = synthesized.templates["dev"]
    key, _ = only(document, "AWS::KMS::Key")
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/btrix-dev"})
    secrets = {
        r["Properties"]["Name"]: r["Properties"] for r in resources(document, "AWS::SecretsManager::Secret").values()
    }
    assert set(secrets) == {f"btrix-dev/{s.suffix}" for s in SECRETS if s.generated_bytes}
    assert all(s["KmsKeyId"] == {"Fn::GetAtt": [key, "Arn"]} for s in secrets.values())
    media = next(r["Properties"] for n, r in resources(document, "AWS::S3::Bucket").items() if "MediaBucket" in n)
    assert media["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    encryption = media["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert encryption == {"KMSMasterKeyID": {"Fn::GetAtt": [key, "Arn"]}, "SSEAlgorithm": "aws:kms"}
    assert "LoggingConfiguration" in media
    for policy in resources(document, "AWS::S3::BucketPolicy").values():
        denials = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denials)


def test_gateway_responses_are_problem_json_for_every_mapped_type(synthesized: Synthesized) -> None:
    api = synthesized.documents["dev"]["Resources"]["RestAPI"]["Properties"]
    responses = api["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    assert set(GATEWAY_RESPONSES) <= set(responses)
    for kind, response in responses.items():
        headers = response["responseParameters"]
        assert headers["gatewayresponse.header.Content-Type"] == f"'{PROBLEM_CONTENT_TYPE}'"
        # API Gateway's own 429s (a tenant's usage plan, the stage) say when to try again, as the application's do.
        assert ("gatewayresponse.header.Retry-After" in headers) == (response["statusCode"] == "429"), kind
        body = json.loads(response["responseTemplates"]["application/json"])
        assert body["status"] == int(response["statusCode"]), kind
        assert body["type"].startswith("urn:btrix:problem:")
        assert body["instance"] == "$context.path"
    for kind, problem in GATEWAY_RESPONSES.items():
        assert responses[kind]["statusCode"] == str(problem.status)
    # A throttled request keeps its 429 instead of becoming DEFAULT_4XX's 400.
    assert responses["THROTTLED"]["statusCode"] == "429"


def test_stage_throttling_access_logs_and_usage_plans(synthesized: Synthesized) -> None:
    api = synthesized.documents["dev"]["Resources"]["RestAPI"]["Properties"]
    assert api["Name"] == "btrix-dev"
    assert api["StageName"] == "dev"
    [settings] = api["MethodSettings"]
    assert settings["ThrottlingRateLimit"] > 0
    assert settings["ThrottlingBurstLimit"] > 0
    assert "DestinationArn" in api["AccessLogSetting"]
    plans = resources(synthesized.documents["dev"], "AWS::ApiGateway::UsagePlan")
    by_name = {p["Properties"]["UsagePlanName"]: p["Properties"] for p in plans.values()}
    assert set(by_name) == {f"btrix-dev-{plan.id}" for plan in PLANS} | {"btrix-dev-unidentified"}
    for plan in PLANS:  # the plans' own allowances, which the application's buckets apply too
        props = by_name[f"btrix-dev-{plan.id}"]
        assert props["Throttle"] == {"RateLimit": plan.requests_per_second, "BurstLimit": plan.request_burst}
        assert props["Quota"] == {"Limit": plan.max_requests_per_day, "Period": "DAY"}
    for props in by_name.values():
        assert props["ApiStages"] == [{"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": "RestAPI.Stage"}}]
        assert props["Throttle"]["RateLimit"] <= settings["ThrottlingRateLimit"]


def test_authenticated_methods_are_counted_against_the_key_the_authorizer_names(synthesized: Synthesized) -> None:
    from app import app
    from btrix_infra.constructs.api import TENANT_AUTHORIZER
    from btrix_infra.constructs.api_definition import protected_methods

    document = synthesized.documents["dev"]
    body = document["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert body["x-amazon-apigateway-api-key-source"] == "AUTHORIZER"
    authorizer = body["securityDefinitions"][TENANT_AUTHORIZER]["x-amazon-apigateway-authorizer"]
    # Not cached: a browser session's token is in a cookie, so there is no header to cache by.
    assert authorizer["type"] == "request"
    assert authorizer["authorizerResultTtlInSeconds"] == 0
    function_id = authorizer["authorizerUri"]["Fn::Sub"][1]["Arn"]["Fn::GetAtt"][0]
    function = document["Resources"][function_id]["Properties"]
    assert function["Handler"] == "functions.authorizer.handler"
    protected = protected_methods(app)
    assert ("/orders", "get") in protected
    assert ("/auth/login", "post") not in protected
    for path, item in body["paths"].items():
        for method, operation in item.items():
            if (path, method) in protected:
                assert operation["security"] == [{TENANT_AUTHORIZER: [], "api_key": []}], f"{method} {path}"
            else:  # no caller: no key to name (login, signup, docs, health); the stage throttle applies
                assert "security" not in operation, f"{method} {path}"
    # Requests no token identifies share one key, in a usage plan of their own.
    [key] = resources(document, "AWS::ApiGateway::ApiKey").values()
    assert key["Properties"]["Value"] == "btrix-dev-usage-unidentified"
    [member] = resources(document, "AWS::ApiGateway::UsagePlanKey").values()
    assert member["Properties"]["KeyType"] == "API_KEY"
    # The application keeps the tenants' keys in their plans' usage plans, which it finds by name.
    api_function = document["Resources"]["APIHandler"]["Properties"]
    assert api_function["Environment"]["Variables"]["BTRIX_USAGE_KEYS"] == "true"
    [allowed] = [s for s in statements(document) if s.get("Sid") == "TenantUsageKeys"]
    assert set(allowed["Action"]) == {"apigateway:GET", "apigateway:POST", "apigateway:DELETE"}


def test_one_public_function_url_per_provider_webhook(synthesized: Synthesized) -> None:
    from functions import FUNCTION_URLS

    template = synthesized.templates["dev"]
    # Providers cannot sign AWS requests: the URLs are public and each handler checks the provider's signature.
    template.resource_count_is("AWS::Lambda::Url", len(FUNCTION_URLS))
    template.all_resources_properties("AWS::Lambda::Url", {"AuthType": "NONE"})
    functions = synthesized.documents["dev"]["Resources"].values()
    handlers = {r["Properties"].get("Handler") for r in functions if r["Type"] == "AWS::Lambda::Function"}
    assert {spec.replace(":", ".") for spec in FUNCTION_URLS.values()} <= handlers
    outputs = synthesized.documents["dev"]["Outputs"]
    assert {p for p in FUNCTION_URLS if any(name.startswith(f"HooksUrl{p}") for name in outputs)} == set(FUNCTION_URLS)


def test_dashboard_shows_api_lambda_queues_table_and_business_metrics(synthesized: Synthesized) -> None:
    _, dashboard = only(synthesized.documents["dev"], "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for expected in (
        "Latency",
        "p50",
        "p95",
        "p99",
        "4XXError",
        "5XXError",
        "Throttles",
        "Duration",
        "@initDuration",
        "ApproximateAgeOfOldestMessage",
        "ApproximateNumberOfMessagesVisible",
        "ConsumedReadCapacityUnits",
        "ConsumedWriteCapacityUnits",
        "ReadThrottleEvents",
        "WriteThrottleEvents",
        "OrdersCreated",
        "MessagesRelayed",
        "NotificationsFailed",
        "EventsPublished",
        "BTRIX",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "MessagesIn",
        "MessagesOut",
        "RelayFailures",
        "MediaFailures",
        "RelayLatency",
        "channelId",
    ):
        assert expected in body, expected


def test_alarms_cover_api_errors_throttles_and_stream_lag(synthesized: Synthesized) -> None:
    names = {
        a["Properties"]["AlarmName"]
        for a in resources(synthesized.documents["prod"], "AWS::CloudWatch::Alarm").values()
    }
    assert {
        "btrix-prod-api-5xx-rate",
        "btrix-prod-throttles-api",
        "btrix-prod-throttles-outbox-publisher",
        "btrix-prod-dynamodb-throttles",
        "btrix-prod-stream-lag-outbox-publisher",
    } <= names


def test_every_chalice_function_gets_infra_variables_its_log_group_and_real_queue_arns(
    synthesized: Synthesized,
) -> None:
    document = synthesized.documents["dev"]
    functions = resources(document, "AWS::Serverless::Function")
    assert "APIHandler" in functions
    queue_ids = set(resources(document, "AWS::SQS::Queue"))
    log_groups = resources(document, "AWS::Logs::LogGroup")
    for name, function in functions.items():
        props = function["Properties"]
        variables = props["Environment"]["Variables"]
        assert set(variables) >= {"BTRIX_STAGE", "BTRIX_TABLE_NAME", "BTRIX_TENANT_ROLE_ARN", "BTRIX_MEDIA_BUCKET"}
        # The install link of POST /channels/bitrix24 is the bitrix24 webhook function's own URL.
        assert "Hookbitrix24FunctionUrl" in json.dumps(variables["BTRIX_BITRIX24_HANDLER_URL"]), name
        assert "HookmercadopagoFunctionUrl" in json.dumps(variables["BTRIX_MERCADOPAGO_NOTIFICATION_URL"]), name
        assert props["LoggingConfig"]["LogGroup"]["Ref"] in log_groups, name
        for event in props.get("Events", {}).values():
            if event["Type"] == "SQS":
                assert event["Properties"]["Queue"]["Fn::GetAtt"][0] in queue_ids, name


def test_computed_secrets_are_seeded_in_the_account_not_written_in_the_template(synthesized: Synthesized) -> None:
    document = synthesized.documents["dev"]
    seeds = {
        r["Properties"]["SecretName"]: r["Properties"] for r in resources(document, "Custom::ComputedSecret").values()
    }
    assert set(seeds) == {f"btrix-dev/{s.suffix}" for s in SECRETS if s.generator}
    for secret in SECRETS:
        if secret.generator:
            assert seeds[f"btrix-dev/{secret.suffix}"]["Generator"] == secret.generator
    synthesized.templates["dev"].has_resource_properties(
        "AWS::Lambda::Function", {"Handler": "functions.secret_seeder.handler"}
    )


def test_every_rule_delivers_its_pattern_to_its_queue_which_accepts_only_that_rule(synthesized: Synthesized) -> None:
    document = synthesized.documents["dev"]
    rules = {
        r["Properties"]["Name"]: (name, r["Properties"]) for name, r in resources(document, "AWS::Events::Rule").items()
    }
    queues = {r["Properties"]["QueueName"]: name for name, r in resources(document, "AWS::SQS::Queue").items()}
    policies = resources(document, "AWS::SQS::QueuePolicy")
    assert len(rules) == len(RULES)
    for rule in RULES:
        _, props = rules[f"btrix-dev-{rule.name}"]
        assert props["EventPattern"] == rule.pattern()
        queue_id = queues[f"btrix-dev-{rule.target.value}"]
        assert props["Targets"] == [{"Id": rule.target.value, "Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}]
        grants = [
            statement
            for policy in policies.values()
            if {"Ref": queue_id} in policy["Properties"]["Queues"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if statement.get("Principal") == {"Service": "events.amazonaws.com"}
        ]
        # The queue accepts exactly the rules that target it (the integrations queue takes the sales' and finance's).
        targeting = sorted(rules[f"btrix-dev-{r.name}"][0] for r in RULES if r.target == rule.target)
        assert sorted(grants, key=lambda g: str(g["Condition"])) == [
            {
                "Action": "sqs:SendMessage",
                "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [source, "Arn"]}}},
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
            }
            for source in targeting
        ]


def test_websocket_api_logs_throttles_and_is_reachable_by_the_functions_that_push(synthesized: Synthesized) -> None:
    document = synthesized.documents["dev"]
    if "WebsocketAPI" not in document["Resources"]:
        pytest.skip("app.py declares no websocket handlers")
    stage = document["Resources"]["WebsocketAPIStage"]["Properties"]
    assert "DestinationArn" in stage["AccessLogSettings"]
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    for name, function in resources(document, "AWS::Serverless::Function").items():
        url = function["Properties"]["Environment"]["Variables"]["BTRIX_WEBSOCKET_MANAGEMENT_URL"]
        assert url == {"Fn::Sub": "https://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/dev"}, name
    pushes = [s for s in statements(document) if s.get("Sid") == "WebsocketPushes"]
    assert [s["Action"] for s in pushes] == ["execute-api:ManageConnections"]


def test_workflow_role_only_enqueues_and_only_the_app_may_pass_it(synthesized: Synthesized) -> None:
    document = synthesized.documents["dev"]
    role_id, role = next(
        (n, r) for n, r in resources(document, "AWS::IAM::Role").items() if n.startswith("WorkflowsRole")
    )
    assert role["Properties"]["RoleName"] == "btrix-dev-workflows"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "states.amazonaws.com"
    }
    granted = [
        s
        for p in resources(document, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    [enqueue] = [s for s in granted if s.get("Sid") == "EnqueueTasks"]
    assert enqueue["Action"] == "sqs:SendMessage"
    job_queues = {n for n, r in resources(document, "AWS::SQS::Queue").items() if "RedrivePolicy" in r["Properties"]}
    assert {r["Fn::GetAtt"][0] for r in enqueue["Resource"]} == job_queues
    # Everything else is the logging and tracing CDK grants for the deployed machines.
    others = [a for s in granted if s is not enqueue for a in as_list(s["Action"])]
    assert all(a.startswith(("logs:", "xray:")) for a in others), others
    passes = [s for s in statements(document) if s["Action"] == "iam:PassRole"]
    assert [s["Resource"] for s in passes] == [{"Fn::GetAtt": [role_id, "Arn"]}]
    variables = document["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert variables["BTRIX_WORKFLOW_ROLE_ARN"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_synthesis_leaves_the_test_process_as_it_found_it(synthesized: Synthesized) -> None:
    from chalicelib.core.config import get_settings

    # Chalice exports each stage's variables (BTRIX_STAGE=dev…) and imports app.py while it packages: none of it
    # may leak into the tests that run after these.
    assert synthesized.changed_variables == set()
    assert synthesized.changed_path == []
    assert get_settings().stage == "local"


def test_every_built_in_workflow_is_deployed_with_the_workflow_role_and_alarmed(synthesized: Synthesized) -> None:
    from chalicelib.workflows.compiler import TEMPLATE_QUEUES, default_machines

    document = synthesized.documents["prod"]
    expected = {m.name for m in default_machines(TEMPLATE_QUEUES, "btrix-prod")}
    assert expected, "the engine ships built-in workflows"
    machines = resources(document, "AWS::StepFunctions::StateMachine")
    assert {m["Properties"]["StateMachineName"] for m in machines.values()} == expected
    role_id = next(n for n in resources(document, "AWS::IAM::Role") if n.startswith("WorkflowsRole"))
    alarms = {a["Properties"]["AlarmName"] for a in resources(document, "AWS::CloudWatch::Alarm").values()}
    for machine in machines.values():
        props = machine["Properties"]
        assert props["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
        assert props["StateMachineType"] == "STANDARD"
        assert f"btrix-prod-failures-{props['StateMachineName'].removeprefix('btrix-prod-')}" in alarms
    run = [s for s in statements(document) if s.get("Sid") == "RunWorkflows"]
    assert [sorted(s["Action"]) for s in run] == [["states:CreateStateMachine", "states:StartExecution"]]


def test_every_rest_path_hands_cors_preflights_to_the_function(synthesized: Synthesized) -> None:
    paths = synthesized.documents["dev"]["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert "/.well-known/jwks.json" in paths  # a path with dots keeps its name
    for path, item in paths.items():
        others = [m for name, m in item.items() if name != "options"]
        assert "options" in item, path
        assert item["options"]["x-amazon-apigateway-integration"] == others[0]["x-amazon-apigateway-integration"]
        assert item["options"]["x-amazon-apigateway-integration"]["type"] == "aws_proxy"
