"""The custom resource that creates computed secrets, against the local stack (moto's Secrets Manager and KMS)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core import aws
from chalicelib.core.resources import kms_alias
from functions.secret_seeder import handler

pytestmark = pytest.mark.usefixtures("stack")


def _event(request: str, name: str) -> dict[str, Any]:
    return {
        "RequestType": request,
        "ResourceProperties": {
            "SecretName": name,
            "Generator": "chalicelib.core.ids:new_id",
            "Description": "test secret",
            "KmsKeyId": kms_alias(),
        },
    }


def test_create_makes_the_secret_with_the_generated_value(tenant_id: str) -> None:
    name = f"seeder-test/{tenant_id}"
    assert handler(_event("Create", name), None) == {"PhysicalResourceId": name}
    value = aws.secrets_manager().get_secret_value(SecretId=name)["SecretString"]
    assert len(value) == 26  # a ULID: the generator ran


def test_update_keeps_an_existing_value_and_delete_keeps_the_secret(tenant_id: str) -> None:
    name = f"seeder-test/{tenant_id}"
    handler(_event("Create", name), None)
    first = aws.secrets_manager().get_secret_value(SecretId=name)["SecretString"]
    handler(_event("Update", name), None)
    handler(_event("Delete", name), None)
    assert aws.secrets_manager().get_secret_value(SecretId=name)["SecretString"] == first
