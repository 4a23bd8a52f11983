"""Handlers registered late (``capabilities.load_later``) are in place for every thread that looks one up: the local
worker and the bench run several queue consumers in one process, and a consumer that looked up while another ran the
registrations found none and dead-lettered its message (``no handler for integration job``)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from chalicelib.core import capabilities


def test_a_thread_that_looks_up_while_another_registers_waits_for_the_registrations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started, release = threading.Event(), threading.Event()
    registered: list[str] = []
    seen_by_second: list[list[str]] = []

    def slow_loader() -> None:
        started.set()
        release.wait(timeout=30)
        registered.append("stripe:*")

    loaders: list[Callable[[], None]] = [slow_loader]
    monkeypatch.setattr(capabilities, "_loaders", loaders)

    def second_consumer() -> None:
        capabilities.load_registrations()
        seen_by_second.append(list(registered))

    first = threading.Thread(target=capabilities.load_registrations)
    first.start()
    assert started.wait(timeout=30)
    second = threading.Thread(target=second_consumer)
    second.start()
    second.join(timeout=0.5)  # without the lock it is done by now, having seen nothing registered
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)

    assert seen_by_second == [["stripe:*"]]
    assert loaders == []


def test_a_loader_that_looks_a_registration_up_in_its_own_thread_does_not_wait_for_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[str] = []

    def loader() -> None:
        capabilities.load_registrations()  # an import inside the loader looks a handler up
        ran.append("loaded")

    monkeypatch.setattr(capabilities, "_loaders", [loader])
    capabilities.load_registrations()

    assert ran == ["loaded"]
