"""CloudFormation custom resource: creates a secret whose first value the application computes (a signing key set).

Infra cannot put such a value in the template (it would be readable there); this handler computes it inside the
account with the ``SecretDef.generator`` the local provisioning uses. Run by CDK's provider framework, which
reports a raised error to CloudFormation.
"""

from __future__ import annotations

import importlib
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.core import aws


def _generate(spec: str) -> str:
    module, _, function = spec.partition(":")
    return str(getattr(importlib.import_module(module), function)())


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Create (or Update): create the secret unless it exists. Delete: keep it, live tokens depend on it."""
    properties = event["ResourceProperties"]
    name = properties["SecretName"]
    if event["RequestType"] in ("Create", "Update"):
        try:
            aws.secrets_manager().create_secret(
                Name=name,
                Description=properties["Description"],
                KmsKeyId=properties["KmsKeyId"],
                SecretString=_generate(properties["Generator"]),
            )
        except ClientError as exc:
            # An existing value is the live one (maybe rotated since): never overwritten by a deploy.
            if exc.response.get("Error", {}).get("Code") != "ResourceExistsException":
                raise
    return {"PhysicalResourceId": name}
