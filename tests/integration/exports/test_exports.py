"""Exports as a background job: queued, run in slices by the exports queue's consumer, written to the file bucket
under the tenant's prefix, downloaded with a presigned URL; who may export, and what the file holds."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.core.money import Money
from chalicelib.exports import files
from chalicelib.exports import service as exports
from chalicelib.sales import store as sales_store
from chalicelib.sales.amounts import compute_amounts
from chalicelib.sales.models import Sale
from tests.support.identity import Account, call
from tests.support.sales import SalesTeam, create_sale, create_service, customer, dkk, move_sale, sales_team


@pytest.fixture(scope="module")
def team(api: Any) -> SalesTeam:
    return sales_team(api)


def _export(api: Any, account: Account, **body: Any) -> Any:
    return call(api, "POST", "/exports", body, account.headers())


def _finished(api: Any, account: Account, export: dict[str, Any], drain: Any) -> dict[str, Any]:
    def done() -> bool:
        shown = call(api, "GET", f"/exports/{export['id']}", headers=account.headers()).json_body
        return bool(shown["status"] in ("completed", "failed"))

    drain(done, timeout_s=120)
    return dict(call(api, "GET", f"/exports/{export['id']}", headers=account.headers()).json_body)


def _rows(url: str) -> list[dict[str, str]]:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_a_manager_exports_the_sales_of_a_status_as_csv(api: Any, team: SalesTeam, drain: Any) -> None:
    service = create_service(api, team.admin)
    buyer = customer(api, team.admin, name='=HYPERLINK("http://evil")')
    pending = create_sale(api, team.rep, service["id"], buyer["id"], notes="@SUM(1)")
    accepted = create_sale(api, team.other_rep, service["id"], buyer["id"], discount=dkk("100"))
    assert move_sale(api, team.other_rep, accepted, "ACCEPTED").status_code == 200
    created = _export(api, team.manager, kind="sales", filters={"status": "pending"})
    assert created.status_code == 422
    assert created.json_body["errors"][0]["field"] == "body.filters.status"
    created = _export(api, team.manager, kind="sales", filters={"assignedTo": team.rep.user_id})
    assert created.status_code == 202, created.body
    assert (created.json_body["status"], created.json_body["rowsDone"], created.json_body["url"]) == ("queued", 0, None)
    shown = _finished(api, team.manager, created.json_body, drain)
    assert (shown["status"], shown["rowsDone"]) == ("completed", 1)
    assert shown["fileBytes"] > 0
    expires = datetime.fromisoformat(shown["urlExpiresAt"]) - datetime.now(UTC)
    assert timedelta(minutes=55) < expires <= timedelta(hours=1)
    [row] = _rows(shown["url"])
    assert (row["number"], row["id"], row["status"], row["assignedTo"]) == (
        pending["number"],
        pending["id"],
        "PENDING",
        team.rep.user_id,
    )
    assert (row["finalAmount"], row["currency"], row["notes"]) == ("1500.00", "DKK", "'@SUM(1)")
    key = shown["url"].split("?")[0].split(get_settings().media_bucket + "/")[-1]
    assert key.startswith(f"T/{team.tenant_id}/exports/{created.json_body['id']}/sales-")
    tags = aws.s3().get_object_tagging(Bucket=get_settings().media_bucket, Key=key)["TagSet"]
    assert tags == [{"Key": "btrix-kind", "Value": "export"}]


def test_only_roles_with_the_export_permission_export(api: Any, team: SalesTeam) -> None:
    for account in (team.rep, team.viewer):
        assert _export(api, account, kind="sales").status_code == 403
    assert call(api, "GET", "/exports", headers=team.rep.headers()).status_code == 403
    listed = call(api, "GET", "/exports?limit=5", headers=team.admin.headers())
    assert listed.status_code == 200
    bad = _export(api, team.admin, kind="customers", filters={"status": "NEW"})
    assert bad.status_code == 422
    assert bad.json_body["errors"][0]["field"] == "body.filters.status"
    unknown = _export(api, team.admin, kind="leads", filters={"ownerId": "a#b"})
    assert unknown.json_body["errors"][0]["field"] == "body.filters.ownerId"


def test_an_export_runs_in_slices_and_reports_its_progress(
    api: Any, team: SalesTeam, drain: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "PAGE_SIZE", 2)
    monkeypatch.setenv("BTRIX_EXPORT_SLICE_SECONDS", "0")  # one page per slice: every slice carries bytes over
    get_settings.cache_clear()
    try:
        names = [f"Kunde {n}" for n in range(5)]
        for name in names:
            customer(api, team.admin, name=name)
        created = _export(api, team.manager, kind="customers")
        assert created.status_code == 202, created.body
        shown = _finished(api, team.manager, created.json_body, drain)
    finally:
        get_settings.cache_clear()
    assert shown["status"] == "completed"
    rows = _rows(shown["url"])
    assert shown["rowsDone"] == len(rows) >= 5
    assert set(names) <= {row["name"] for row in rows}
    assert rows[0]["currency"] == "DKK"


def _seed_sales(tenant_id: str, service_id: str, customer_id: str, user_id: str, count: int) -> None:
    """``count`` sales written straight to the table as ``sales.store`` writes them (the API would take minutes),
    each with long notes, so that their CSV passes S3's least part size."""
    amounts = compute_amounts(Money.of("1000", "DKK"), None, Decimal(25), "DKK")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    client, table = aws.dynamodb(), get_settings().table_name
    batch: list[Any] = []
    for n in range(count):
        at = (start + timedelta(minutes=n)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        sale = Sale(
            id=f"01SEED{n:020d}",
            tenant_id=tenant_id,
            number=f"S-2026-{n + 1:06d}",
            customer_id=customer_id,
            service_id=service_id,
            service_name="Hovedrengøring",
            assigned_to=user_id,
            source="web",
            amounts=amounts,
            notes="Nøgle under måtten. " * 100,
            status="PENDING",
            workflow_version=1,
            created_by=user_id,
            created_at=at,
            updated_at=at,
        )
        item = sales_store.new_sale_ops(sale, {})[0].body["Item"]
        batch.append({"PutRequest": {"Item": item}})
        if len(batch) == 25 or n == count - 1:
            client.batch_write_item(RequestItems={table: batch})
            batch = []


def test_a_large_export_is_uploaded_in_parts_of_at_least_five_megabytes(api: Any, drain: Any) -> None:
    team = sales_team(api)
    service = create_service(api, team.admin)
    buyer = customer(api, team.admin)
    _seed_sales(team.tenant_id, service["id"], buyer["id"], team.rep.user_id, 2600)  # ~2.2 KB a row: 2 parts
    created = _export(api, team.admin, kind="sales")
    assert created.status_code == 202, created.body
    shown = _finished(api, team.admin, created.json_body, drain)
    assert (shown["status"], shown["rowsDone"]) == ("completed", 2600)
    assert shown["fileBytes"] > files.PART_BYTES
    rows = _rows(shown["url"])
    assert len(rows) == 2600
    assert [row["number"] for row in rows[:2]] == ["S-2026-002600", "S-2026-002599"]  # newest first
    assert len({row["id"] for row in rows}) == 2600
