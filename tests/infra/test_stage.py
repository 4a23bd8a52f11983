"""Infra names equal the names the application derives, and Lambda bundles carry the code they import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from btrix_infra.packaging import (
    NOT_IN_WEBHOOK_FUNCTIONS,
    Bundling,
    asset_sources,
    chalice_project,
    distribution_closure,
    function_bundle,
)
from btrix_infra.stage import ROOT, StageNames, chalice_stage_config, stage_config
from chalicelib.core import resources
from chalicelib.core.config import get_settings


def test_names_are_the_ones_the_application_looks_up() -> None:
    settings = get_settings()  # the tests' stage: local
    names = StageNames(settings.stage)
    assert (names.table, names.event_bus, names.prefix) == (
        settings.table_name,
        settings.event_bus_name,
        settings.resource_prefix,
    )
    for definition in resources.QUEUES:
        assert names.queue(definition) == resources.queue_name(definition.kind)
        assert names.dlq(definition) == resources.dlq_name(definition.kind)
    for secret in resources.SECRETS:
        assert names.secret(secret) == resources.secret_name(secret)
    assert names.kms_alias == resources.kms_alias()
    for rule in resources.RULES:
        assert names.infra(rule.name) == resources.rule_name(rule)


def test_stage_config_carries_the_chalice_stage_environment() -> None:
    config = chalice_stage_config("prod")
    assert config["api_gateway_stage"] == "prod"
    assert config["environment_variables"]["BTRIX_STAGE"] == "prod"
    assert config["environment_variables"]["POWERTOOLS_SERVICE_NAME"] == "btrix"
    assert stage_config("prod").retain_data
    assert not stage_config("dev").retain_data


def test_function_bundle_has_handlers_library_and_chalice_runtime(tmp_path: Path) -> None:
    bundle = function_bundle(ROOT, Bundling(build_dir=tmp_path, with_dependencies=False))
    assert (bundle / "functions" / "outbox_publisher.py").is_file()
    assert (bundle / "chalicelib" / "core" / "events.py").is_file()
    assert sorted(p.name for p in (bundle / "chalice").iterdir()) == ["__init__.py", "app.py"]
    assert not list(bundle.rglob("__pycache__"))
    assert not (bundle / "tests").exists()


def test_a_webhook_functions_bundle_has_only_what_its_handler_imports_and_imports_from_it(tmp_path: Path) -> None:
    bundle = function_bundle(ROOT, Bundling(build_dir=tmp_path, with_dependencies=False), "functions.meta")
    assert sorted(p.name for p in (bundle / "functions").iterdir()) == ["__init__.py", "meta.py"]
    assert (bundle / "chalicelib" / "inbound" / "meta.py").is_file()
    assert (bundle / "chalicelib" / "notifications" / "status.py").is_file()  # imported inside a function
    assert (bundle / "chalicelib" / "core" / "locales").is_dir()  # its packages' data files come along
    assert not (bundle / "chalicelib" / "orders").exists()  # a capability the webhook never reaches
    assert not (bundle / "app.py").exists()
    assert not (bundle / "vendor").exists()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    imported = subprocess.run(
        [sys.executable, "-c", "import functions.meta, chalicelib; print(chalicelib.__file__)"],
        cwd=bundle,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert imported.stdout.strip() == str(bundle / "chalicelib" / "__init__.py")


def test_a_webhook_functions_asset_leaves_out_the_packages_of_the_apis_other_paths() -> None:
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    tops = {file.relative_to(base).parts[0] for base, file in asset_sources(ROOT, "functions.stripe", site)}
    assert {"functions", "chalicelib", "pydantic", "pydantic_core", "cryptography", "aws_lambda_powertools"} <= tops
    assert not tops & (NOT_IN_WEBHOOK_FUNCTIONS | {"chalice", "pip", "setuptools"})


def test_a_functions_distributions_are_what_it_imports_and_their_requirements() -> None:
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    names = {d.metadata["Name"].lower().replace("_", "-") for d in distribution_closure(site, {"pydantic", "boto3"})}
    assert {"pydantic", "pydantic-core", "typing-extensions", "annotated-types"} <= names
    assert not names & {"boto3", "botocore", "stripe", "twilio"}  # the runtime's own, and nothing not asked for


def test_code_only_chalice_project_has_no_requirements(tmp_path: Path) -> None:
    project = chalice_project(ROOT, Bundling(build_dir=tmp_path, with_dependencies=False))
    assert (project / "requirements.txt").read_text() == ""
    assert (project / "app.py").is_file()
    assert (project / ".chalice" / "config.json").is_file()
    assert (project / "vendor" / "swagger_ui" / "swagger-ui-bundle.js").is_file()  # the /api-docs page's assets
    assert chalice_project(ROOT, Bundling(build_dir=tmp_path, with_dependencies=True)) == ROOT
