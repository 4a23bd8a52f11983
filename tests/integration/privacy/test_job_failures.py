"""A privacy job that stops shows it on its request: an export that cannot finish says failed and why (and the person
may be exported again), an erasure that stopped keeps its claim, says why in its error and is finished by the DLQ's
redrive."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.core import aws
from chalicelib.core.errors import InvalidInput
from chalicelib.core.personal_data import DataSubject, Declaration
from chalicelib.core.resources import QueueKind, queue_name, queue_url
from chalicelib.privacy import service as privacy
from tests.support.commerce import create_customer
from tests.support.environment import settings_from
from tests.support.identity import call, signup
from tests.support.inbound_hooks import take_messages

Work = Callable[[Callable[[], bool]], None]
BROKEN = "a record this capability cannot read"


@pytest.fixture
def work(stack: Any) -> Iterator[Work]:
    """Runs the app's queue consumers until ``condition()`` holds (retries without backoff)."""
    from app import app
    from localdev.worker import QueueWorker

    worker = QueueWorker(app, wait_seconds=0)

    def until(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 120  # only stops a hung test
        while not condition():
            assert time.monotonic() < deadline, "the privacy job did not get there"
            if not worker.poll_once():
                time.sleep(0.1)

    with settings_from({"BTRIX_INTEGRATION_RETRY_BASE_S": "0", "BTRIX_INTEGRATION_RETRY_MAX_S": "0"}):
        yield until


def _refuse(subject: DataSubject) -> Any:
    raise InvalidInput(detail=BROKEN)


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Adds a capability whose exporter or eraser refuses (an application error: no retry can fix it)."""
    declared = privacy.load_declarations

    def add(which: str) -> None:
        extra = Declaration(
            "broken",
            exporter=_refuse if which == "exporter" else lambda subject: [],
            eraser=_refuse if which == "eraser" else lambda subject: 0,
        )
        monkeypatch.setattr(privacy, "load_declarations", lambda: [*declared(), extra])

    return add


def _dead_letter(task_id: str) -> list[dict[str, Any]]:
    return [
        body
        for body, _ in take_messages(
            QueueKind.INTEGRATIONS, lambda body: task_id in str(body.get("data") or ""), dead=True
        )
    ]


def test_an_export_that_cannot_finish_says_failed_and_why_and_the_person_may_be_exported_again(
    api: Any, work: Work, broken: Callable[[str], None]
) -> None:
    admin, _ = signup(api)
    broken("exporter")
    asked = {"subject": "user", "id": admin.user_id}
    export = call(api, "POST", "/privacy/exports", asked, admin.headers()).json_body

    def shown() -> dict[str, Any]:
        return dict(call(api, "GET", f"/privacy/exports/{export['id']}", headers=admin.headers()).json_body)

    work(lambda: shown()["status"] not in ("queued", "running"))
    assert shown()["status"] == "failed"
    assert BROKEN in shown()["error"]
    assert _dead_letter(export["id"])  # kept where an operator finds it
    assert call(api, "POST", "/privacy/exports", asked, admin.headers()).status_code == 202


def test_an_erasure_that_stopped_says_why_and_the_redrive_finishes_it(
    api: Any, work: Work, broken: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, _ = signup(api)
    person = create_customer(api, admin, name="Erika Parada")
    broken("eraser")
    asked = {"subject": "customer", "id": person["id"]}
    erasure = call(api, "POST", "/privacy/erasures", asked, admin.headers()).json_body

    def shown() -> dict[str, Any]:
        return dict(call(api, "GET", f"/privacy/erasures/{erasure['id']}", headers=admin.headers()).json_body)

    work(lambda: bool(shown().get("error")))
    assert shown()["status"] == "running"
    assert BROKEN in shown()["error"]
    again = call(api, "POST", "/privacy/erasures", asked, admin.headers())
    assert again.status_code == 409  # still claimed: the stopped erasure is the one to finish
    [dead] = _dead_letter(erasure["id"])

    monkeypatch.undo()  # the capability is fixed; the operator redrives the dead letter
    aws.sqs().send_message(QueueUrl=queue_url(queue_name(QueueKind.INTEGRATIONS)), MessageBody=json.dumps(dead))
    work(lambda: shown()["status"] == "completed")
    assert shown().get("error") is None
    assert call(api, "GET", f"/customers/{person['id']}", headers=admin.headers()).json_body["name"] != "Erika Parada"
