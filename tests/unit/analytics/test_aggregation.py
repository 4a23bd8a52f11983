"""What sale and lead events add to the dashboard's aggregates: created, moved, completed, reassigned, deleted."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chalicelib.analytics.aggregation import ALL, PIPELINE, bucket_starts, contributions, period_start

TZ = "Europe/Copenhagen"
D = Decimal


def _sale(**fields: Any) -> dict[str, Any]:
    return {
        "number": "S-2026-000001",
        "status": "PENDING",
        "assignedTo": "rep1",
        "customerId": "c1",
        "serviceId": "svc1",
        "source": "phone",
        "amount": {"amount": "1250.00", "currency": "DKK"},
        "createdAt": "2026-05-04T09:00:00.000Z",
        **fields,
    }


DAY = ("DAY", "2026-05-04")


def test_a_created_sale_counts_on_its_day_week_and_month_for_the_tenant_and_its_rep() -> None:
    deltas = contributions("sale.created", {"sale": _sale()}, TZ)
    day = deltas[(ALL, DAY)]
    assert day == {
        "salesCount": D(1),
        "salesValue": D("1250.00"),
        "src:phone:sales": D(1),
        "svc:svc1:sales": D(1),
        "rep:rep1:sales": D(1),
    }
    assert deltas[("rep1", ("WEEK", "2026-05-04"))] == day
    assert deltas[("rep1", ("MONTH", "2026-05-01"))] == day
    assert deltas[(ALL, PIPELINE)] == {"sales:PENDING:count": D(1), "sales:PENDING:value": D("1250.00")}


def test_a_completed_sale_leaves_the_pipeline_for_the_revenue_of_the_day_it_closed() -> None:
    after = _sale(status="COMPLETED", closedAt="2026-05-10T23:30:00.000Z", outcome="completed")
    deltas = contributions("sale.status_changed", {"from": "IN_PROGRESS", "to": "COMPLETED", "sale": after}, TZ)
    assert deltas[(ALL, PIPELINE)] == {"sales:IN_PROGRESS:count": D(-1), "sales:IN_PROGRESS:value": D("-1250.00")}
    closing = ("DAY", "2026-05-11")  # 23:30 UTC is the next day in Copenhagen
    assert deltas[("rep1", closing)] == {
        "revenue": D("1250.00"),
        "completedSales": D(1),
        "src:phone:revenue": D("1250.00"),
        "svc:svc1:revenue": D("1250.00"),
        "rep:rep1:revenue": D("1250.00"),
        "rep:rep1:completed": D(1),
    }
    assert (ALL, DAY) not in deltas  # the day it was created does not change


def test_a_status_change_within_the_pipeline_moves_it_between_statuses_only() -> None:
    deltas = contributions(
        "sale.status_changed", {"from": "PENDING", "to": "ACCEPTED", "sale": _sale(status="ACCEPTED")}, TZ
    )
    assert set(deltas) == {(ALL, PIPELINE), ("rep1", PIPELINE)}
    assert deltas[(ALL, PIPELINE)] == {
        "sales:PENDING:count": D(-1),
        "sales:PENDING:value": D("-1250.00"),
        "sales:ACCEPTED:count": D(1),
        "sales:ACCEPTED:value": D("1250.00"),
    }


def test_a_reassigned_sale_moves_from_one_rep_to_the_other_and_the_tenant_is_unchanged() -> None:
    data = {"changed": ["assignedTo"], "before": _sale(), "sale": _sale(assignedTo="rep2")}
    deltas = contributions("sale.updated", data, TZ)
    assert deltas[("rep1", DAY)]["salesCount"] == D(-1)
    assert deltas[("rep2", DAY)]["salesCount"] == D(1)
    assert deltas[(ALL, DAY)] == {"rep:rep1:sales": D(-1), "rep:rep2:sales": D(1)}
    assert (ALL, PIPELINE) not in deltas


def test_a_deleted_sale_takes_back_everything_it_added() -> None:
    completed = _sale(status="COMPLETED", closedAt="2026-05-04T12:00:00.000Z", outcome="completed")
    deltas = contributions("sale.deleted", {"sale": completed}, TZ)
    assert deltas[(ALL, DAY)]["salesCount"] == D(-1)
    assert deltas[(ALL, DAY)]["revenue"] == D("-1250.00")
    assert (ALL, PIPELINE) not in deltas


def test_a_converted_lead_counts_as_converted_on_its_day_and_leaves_the_lead_pipeline() -> None:
    lead = {
        "status": "CONVERTED",
        "source": "whatsapp",
        "ownerId": "rep1",
        "createdAt": "2026-05-01T08:00:00.000Z",
        "closedAt": "2026-05-04T08:00:00.000Z",
        "outcome": "completed",
        "convertedSaleId": "s1",
        "estimatedValue": {"amount": "300", "currency": "DKK"},
    }
    deltas = contributions("lead.status_changed", {"from": "QUALIFIED", "to": "CONVERTED", "lead": lead}, TZ)
    assert deltas[(ALL, DAY)] == {"leadsConverted": D(1), "src:whatsapp:converted": D(1), "rep:rep1:converted": D(1)}
    assert deltas[(ALL, PIPELINE)] == {"leads:QUALIFIED:count": D(-1), "leads:QUALIFIED:value": D("-300")}


def test_events_the_dashboard_does_not_count_add_nothing() -> None:
    assert contributions("sale.paid", {"sale": _sale()}, TZ) == {}
    notes_only = {"changed": ["notes"], "before": _sale(), "sale": _sale()}
    assert contributions("sale.updated", notes_only, TZ) == {}


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    from datetime import date

    assert period_start(date(2026, 5, 10), "WEEK") == date(2026, 5, 4)  # a Sunday
    assert bucket_starts(date(2026, 5, 31)) == [("DAY", "2026-05-31"), ("WEEK", "2026-05-25"), ("MONTH", "2026-05-01")]
