"""Helpers for webhook tests: endpoints and their delivery log through the API, and a pump for the pipeline."""

from __future__ import annotations

from typing import Any

from tests.support.identity import Account, call

__all__ = ["Pump", "create_endpoint", "deliveries", "get_endpoint", "send_test"]


class Pump:
    """The table stream → outbox publisher → bus → queues → the app's consumers, one round per call."""

    def __init__(self) -> None:
        from app import app
        from functions.outbox_publisher import handler as publish
        from localdev.worker import QueueWorker, StreamWorker

        # One stream reader per pump, starting now, as one event source mapping would: it never re-reads.
        self.stream = StreamWorker(publish, from_now=True)
        self.queues = QueueWorker(app, wait_seconds=0)

    def __call__(self) -> int:
        return self.stream.poll_once() + self.queues.poll_once()


def create_endpoint(api: Any, account: Account, url: str, **fields: Any) -> dict[str, Any]:
    """A webhook endpoint (with its secret, shown at creation)."""
    response = call(api, "POST", "/webhook-endpoints", {"url": url, **fields}, account.headers())
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def send_test(api: Any, account: Account, endpoint_id: str) -> dict[str, Any]:
    """Ask for a test message to the endpoint; returns its (pending) delivery."""
    response = call(api, "POST", f"/webhook-endpoints/{endpoint_id}/test", headers=account.headers())
    assert response.status_code == 202, response.body
    return dict(response.json_body)


def deliveries(api: Any, account: Account, endpoint_id: str) -> list[dict[str, Any]]:
    """The endpoint's delivery log, newest first."""
    response = call(api, "GET", f"/webhook-endpoints/{endpoint_id}/deliveries", headers=account.headers())
    assert response.status_code == 200, response.body
    return list(response.json_body["items"])


def get_endpoint(api: Any, account: Account, endpoint_id: str) -> dict[str, Any]:
    """The endpoint as the API shows it."""
    response = call(api, "GET", f"/webhook-endpoints/{endpoint_id}", headers=account.headers())
    assert response.status_code == 200, response.body
    return dict(response.json_body)
