"""What differs between deployed stages, and the resource names the application expects in each.

Names mirror ``chalicelib.core.resources`` and ``Settings`` (``btrix-<stage>…``): the application finds its
queues, secrets and key by name, so infra must create exactly those (tests/infra/test_stage.py keeps them equal).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.core.resources import QueueDef, SecretDef

__all__ = ["ROOT", "STAGES", "StageConfig", "StageNames", "chalice_stage_config", "stage_config"]

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StageConfig:
    """One deployed stage: ``retain_data`` keeps the table and bucket on stack deletion and protects the table."""

    name: str
    retain_data: bool
    log_retention_days: int
    api_memory_mb: int = 512
    # Stage-wide API Gateway throttling: the ceiling every plan's usage plan sits under.
    throttle_rate: float = 200.0
    throttle_burst: int = 400
    # Alarm thresholds: share of API requests answered 5xx, over 5 minutes.
    api_5xx_rate_threshold: float = 0.01
    # Whether queue consumers get their QueueDef.reserved_concurrency: a new account's concurrency quota (10)
    # cannot reserve any (Lambda keeps 100 unreserved), so only stages in an account with its quota raised do.
    reserve_concurrency: bool = False


STAGES: dict[str, StageConfig] = {
    "dev": StageConfig("dev", retain_data=False, log_retention_days=14, throttle_rate=100.0, throttle_burst=200),
    "prod": StageConfig("prod", retain_data=True, log_retention_days=90, reserve_concurrency=True),
}


def stage_config(name: str) -> StageConfig:
    """The configuration of stage ``name``; raises ``KeyError`` naming the known stages."""
    try:
        return STAGES[name]
    except KeyError:
        raise KeyError(f"unknown stage {name!r}; deployable stages: {', '.join(STAGES)}") from None


@dataclass(frozen=True)
class StageNames:
    """Physical names of the stage's resources, as the application derives them from ``BTRIX_STAGE``."""

    stage: str

    @property
    def prefix(self) -> str:
        """``btrix-<stage>``: the default of ``Settings.resource_prefix``, table and bus names."""
        return f"btrix-{self.stage}"

    @property
    def table(self) -> str:
        """The table (``Settings.table_name``)."""
        return self.prefix

    @property
    def event_bus(self) -> str:
        """The domain-event bus (``Settings.event_bus_name``)."""
        return self.prefix

    def queue(self, definition: QueueDef) -> str:
        """A job queue (``resources.queue_name``)."""
        return self._fifo(f"{self.prefix}-{definition.kind.value}", definition.fifo)

    def dlq(self, definition: QueueDef) -> str:
        """Its dead-letter queue (``resources.dlq_name``)."""
        return self._fifo(f"{self.prefix}-{definition.kind.value}-dlq", definition.fifo)

    def secret(self, secret: SecretDef) -> str:
        """A secret (``resources.secret_name``)."""
        return f"{self.prefix}/{secret.suffix}"

    @property
    def kms_alias(self) -> str:
        """The field-encryption key's alias (``resources.kms_alias``)."""
        return f"alias/{self.prefix}"

    def infra(self, suffix: str) -> str:
        """A resource only infra knows about (``btrix-<stage>-<suffix>``)."""
        return f"{self.prefix}-{suffix}"

    @staticmethod
    def _fifo(name: str, fifo: bool) -> str:
        return f"{name}.fifo" if fifo else name


def chalice_stage_config(stage: str, root: Path = ROOT) -> dict[str, Any]:
    """The stage's section of ``.chalice/config.json`` with the top-level environment merged in.

    ``chalice.cdk.Chalice`` names its stage after the CDK scope, not after our stage, so the stage's own settings
    (``BTRIX_STAGE``, log level…) would be skipped unless passed explicitly.
    """
    document = json.loads((root / ".chalice" / "config.json").read_text())
    section: dict[str, Any] = dict(document["stages"][stage])
    section["environment_variables"] = {
        **document.get("environment_variables", {}),
        **section.get("environment_variables", {}),
    }
    return section
