"""Each provider's credential schema is its own module: the registry finds every one, and importing one provider's
loads no other's (a webhook function's asset holds only its own provider's, ``infra/btrix_infra/packaging.py``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.integrations.credentials import Credentials, Provider, credentials_model

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("provider", list(Provider))
def test_every_provider_has_a_credential_schema_in_its_own_package(provider: Provider) -> None:
    model = credentials_model(provider)

    assert issubclass(model, Credentials)
    assert model is not Credentials
    package = "meta" if provider is Provider.META_CAPI else provider.value
    assert model.__module__ == f"chalicelib.integrations.{package}.credentials"


def test_two_providers_never_share_a_schema() -> None:
    models = [credentials_model(provider) for provider in Provider]

    assert len(set(models)) == len(models)


def test_importing_one_providers_credentials_loads_no_other_providers() -> None:
    probe = (
        "import json, sys\n"
        "import chalicelib.integrations.stripe.credentials\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.endswith('.credentials'))))\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )

    assert json.loads(answer.stdout) == [
        "chalicelib.integrations.credentials",
        "chalicelib.integrations.stripe.credentials",
    ]
