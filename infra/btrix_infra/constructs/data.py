"""The one DynamoDB table, built from the application's own definition (``chalicelib.core.db.table``)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from btrix_infra.stage import StageConfig, StageNames
from chalicelib.core.db.table import TTL_ATTRIBUTE, create_table_request

__all__ = ["DataTable"]

_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER, "B": dynamodb.AttributeType.BINARY}
_BILLING = {"PAY_PER_REQUEST": dynamodb.BillingMode.PAY_PER_REQUEST, "PROVISIONED": dynamodb.BillingMode.PROVISIONED}


class DataTable(Construct):
    """Keys, GSIs, billing and stream from ``create_table_request``; TTL, point-in-time recovery, protection."""

    def __init__(self, scope: Construct, id: str, *, names: StageNames, config: StageConfig) -> None:
        super().__init__(scope, id)
        request = create_table_request(names.table)
        types = {a["AttributeName"]: _TYPES[a["AttributeType"]] for a in request["AttributeDefinitions"]}

        def key(schema: list[dict[str, str]], kind: str) -> dynamodb.Attribute:
            name = next(k["AttributeName"] for k in schema if k["KeyType"] == kind)
            return dynamodb.Attribute(name=name, type=types[name])

        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=request["TableName"],
            partition_key=key(request["KeySchema"], "HASH"),
            sort_key=key(request["KeySchema"], "RANGE"),
            billing_mode=_BILLING[request["BillingMode"]],
            stream=dynamodb.StreamViewType(request["StreamSpecification"]["StreamViewType"]),
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=config.retain_data,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        for index in request["GlobalSecondaryIndexes"]:
            self.table.add_global_secondary_index(
                index_name=index["IndexName"],
                partition_key=key(index["KeySchema"], "HASH"),
                sort_key=key(index["KeySchema"], "RANGE"),
                projection_type=dynamodb.ProjectionType(index["Projection"]["ProjectionType"]),
            )
        self.index_names: tuple[str, ...] = tuple(i["IndexName"] for i in request["GlobalSecondaryIndexes"])
