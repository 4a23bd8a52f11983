"""The webhook functions, run in a process of their own on real deliveries (every provider's valid, duplicate and
forged requests, a Meta message and a Meta status), load nothing their lean assets leave out
(``infra/btrix_infra/packaging.py``): none of ``NOT_IN_WEBHOOK_FUNCTIONS``, and no package an asset lacks."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from chalicelib.core.db.store import Table
from chalicelib.core.ids import new_id
from chalicelib.inbound.routing import whatsapp_route_op
from tests.integration.inbound.test_providers import CASES
from tests.support.function_host import serve_functions
from tests.support.gateway import meta_message, meta_notification, meta_status, signed_meta
from tests.support.inbound_hooks import sent_notification

pytestmark = pytest.mark.usefixtures("stack")

ROOT = Path(__file__).resolve().parents[3]
# Loaded by the host around the functions (the local function-URL server, this test package), not by them.
HOST = {"localdev", "tests", "functions", "chalicelib", "chalice"}
# What Lambda's Python runtime provides (import names of ``packaging.RUNTIME_PROVIDED``), and certifi, which
# botocore uses when present and does without otherwise.
RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six", "certifi"}


def _shipped() -> set[str]:
    """The top-level modules any webhook function's asset ships (from this environment's installed packages)."""
    from btrix_infra.packaging import asset_sources
    from functions import FUNCTION_URLS

    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    shipped = set()
    for spec in FUNCTION_URLS.values():
        for base, file in asset_sources(ROOT, spec.partition(":")[0], site):
            shipped.add(file.relative_to(base).parts[0].split(".")[0])
    return shipped


def _meta(hooks: httpx.Client) -> None:
    tenant_id, phone_number_id = new_id(), str(random.randint(10**14, 10**15 - 1))  # noqa: S311 - an id
    Table().transact([whatsapp_route_op(tenant_id, phone_number_id, channel_id="CH1")])
    wamid = f"wamid.{new_id()}"
    sent_notification(tenant_id, "whatsapp", "+5531999990000", "meta", wamid, sent_by=phone_number_id)
    message = meta_message("5531999990000", f"wamid.{new_id()}", "Oi")
    for payload in (
        meta_notification(phone_number_id, messages=[message]),
        meta_notification(phone_number_id, statuses=[meta_status(wamid, "5531999990000", "delivered")]),
    ):
        body, headers = signed_meta(payload)
        assert hooks.post("/meta", content=body, headers=headers).status_code == 200


def test_real_deliveries_load_nothing_the_webhook_assets_leave_out(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "infra"))
    from btrix_infra.packaging import NOT_IN_WEBHOOK_FUNCTIONS

    with serve_functions() as host:
        with httpx.Client(base_url=host.base_url, timeout=30) as hooks:
            for make in CASES:
                case = make(api, hooks)
                for request in case.bad:
                    assert hooks.request(**request).status_code == 401, case.provider
                for _ in range(2):
                    answer = hooks.request(**case.valid)
                    assert answer.status_code == 200, (case.provider, answer.text)
            _meta(hooks)
        loaded = host.stop()
    assert loaded & NOT_IN_WEBHOOK_FUNCTIONS == set()
    third_party = {name for name in loaded if name not in sys.stdlib_module_names and not name.startswith("_")}
    assert third_party - HOST - RUNTIME - _shipped() == set()
