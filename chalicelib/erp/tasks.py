"""What every ERP task knows: the task's name and its ERP, the ERP's account for the job's tenant, the ERPs a tenant
has connected, and how a conflict is logged (the ERP's sync log, ``operation: conflict``).
"""

from __future__ import annotations

from chalicelib.erp.adapters import ERP_PROVIDERS, ErpAccount, open_account
from chalicelib.integrations import jobs
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.service import PROVIDER_NAMES, find_credentials, record_sync

__all__ = [
    "CONFLICT",
    "PRODUCT_REF",
    "connected_erps",
    "erp_name",
    "job_account",
    "job_provider",
    "log_conflict",
    "task",
]

CONFLICT = "conflict"
# The reference kind that links a BTRIX product to the ERP's.
PRODUCT_REF = "product"


def task(provider: Provider, what: str) -> str:
    """``<erp>.<what>``: the name of one ERP's task."""
    return f"{provider.value}.{what}"


def job_provider(job: jobs.Job) -> Provider:
    """The ERP a job is for."""
    # task:<erp>.<what>, or <erp>:<event> (a provider's webhook)
    return Provider(job.kind.removeprefix("task:").partition(".")[0].partition(":")[0])


def erp_name(provider: Provider) -> str:
    """The ERP's name as people read it (Bling, Tiny)."""
    return PROVIDER_NAMES[provider]


def log_conflict(tenant_id: str, provider: Provider, message: str) -> None:
    """A conflict in the ERP's sync log: something was not pushed or not overwritten, and why."""
    record_sync(tenant_id, provider, CONFLICT, ok=False, error=message)


def connected_erps(tenant_id: str) -> list[Provider]:
    """The ERPs the tenant has connected."""
    return [p for p in ERP_PROVIDERS if find_credentials(tenant_id, p) is not None]


def job_account(job: jobs.Job) -> ErpAccount | None:
    """The job's ERP account of its tenant (None: disconnected meanwhile)."""
    return open_account(job.tenant_id, job_provider(job))
