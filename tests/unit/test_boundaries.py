"""The import-linter contracts of pyproject.toml cover every capability and every provider client.

The contracts list modules by name, so a new capability folder or provider package would otherwise start life
outside them, unchecked. (``make lint`` runs the contracts themselves.)
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"
# Not a capability: the shared foundation every capability builds on (its own contract forbids the reverse).
FOUNDATION = {"core"}
# The integrations capability's own modules (tenant credentials, their probes, OAuth consent and access tokens, the
# integrations queue's consumer and its redrive, the references kept); the rest of integrations/ are provider clients.
INTEGRATIONS_CAPABILITY = {
    "accounts",
    "consent",
    "credentials",
    "jobs",
    "models",
    "probes",
    "redrive",
    "references",
    "routes",
    "service",
    "store",
    "tokens",
}


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {contract["id"]: contract for contract in config["tool"]["importlinter"]["contracts"]}


def _capabilities() -> set[str]:
    return {
        f"chalicelib.{path.name}"
        for path in PACKAGE.iterdir()
        if (path / "__init__.py").exists() and path.name not in FOUNDATION
    }


def _provider_clients() -> set[str]:
    found = set()
    for path in (PACKAGE / "integrations").iterdir():
        name = path.stem if path.suffix == ".py" else path.name
        if name.startswith("_") or name in INTEGRATIONS_CAPABILITY:
            continue
        if path.suffix == ".py" or (path / "__init__.py").exists():
            found.add(f"chalicelib.integrations.{name}")
    return found


def test_every_capability_is_layered_routes_service_store() -> None:
    assert set(_contracts()["layers"]["containers"]) == _capabilities()


def test_every_provider_client_is_forbidden_every_capability() -> None:
    providers = _contracts()["providers"]
    assert set(providers["source_modules"]) == _provider_clients()
    # Provider clients may import the credential schemas' base and the models, nothing else of the capability.
    allowed = {"models", "credentials"}
    capability_modules = {f"chalicelib.integrations.{name}" for name in INTEGRATIONS_CAPABILITY - allowed}
    expected = (_capabilities() - {"chalicelib.integrations"}) | capability_modules
    assert set(providers["forbidden_modules"]) == expected
