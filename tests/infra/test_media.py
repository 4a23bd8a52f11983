"""The WhatsApp gateway's media bucket as the app sees it: its name in every function's environment, and the app
role allowed to put and get objects under the tenants' prefix only."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Synthesized
from tests.infra.test_stack import resources, statements


def _media_bucket(document: dict[str, Any]) -> str:
    [name] = [n for n in resources(document, "AWS::S3::Bucket") if n.startswith("MediaBucket")]
    return name


def test_every_app_function_is_told_the_media_bucket(synthesized: Synthesized) -> None:
    document = synthesized.documents["dev"]
    bucket = _media_bucket(document)
    functions = {
        **resources(document, "AWS::Serverless::Function"),
        **resources(document, "AWS::Lambda::Function"),
    }
    told = {n for n, f in functions.items() if "BTRIX_TABLE_NAME" in f["Properties"]["Environment"]["Variables"]}
    assert "APIHandler" in told
    for name in told:
        assert functions[name]["Properties"]["Environment"]["Variables"]["BTRIX_MEDIA_BUCKET"] == {"Ref": bucket}


def test_app_role_puts_and_gets_media_under_the_tenants_prefix_only(synthesized: Synthesized) -> None:
    document = synthesized.documents["dev"]
    bucket = _media_bucket(document)
    granted = [s for s in statements(document) if any(str(a).startswith("s3:") for a in _list(s["Action"]))]
    [media] = [s for s in granted if s.get("Sid") == "MediaObjects"]
    assert sorted(media["Action"]) == [
        "s3:AbortMultipartUpload",
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:PutObject",
        "s3:PutObjectTagging",
    ]
    assert media["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/T/*"]]}
    assert all(s.get("Sid") == "MediaObjects" for s in granted if bucket in str(s["Resource"]))


def test_export_files_expire_by_their_tag(synthesized: Synthesized) -> None:
    document = synthesized.documents["dev"]
    bucket = document["Resources"][_media_bucket(document)]["Properties"]
    rules = bucket["LifecycleConfiguration"]["Rules"]
    [exports] = [r for r in rules if r.get("TagFilters")]
    assert exports["TagFilters"] == [{"Key": "btrix-kind", "Value": "export"}]
    assert exports["ExpirationInDays"] == 7


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
