"""Handlers registered late (``capabilities.load_later``) are in place for every thread that looks one up: the local
worker and the bench run several queue consumers in one process, and a consumer that looked up while another ran the
registrations found none and dead-lettered its message (``no handler for integration job``). Imports pause the cyclic
collector and freeze what they made; it always runs again afterwards."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from chalicelib.core import capabilities

ROOT = Path(__file__).resolve().parents[3]


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


def test_the_collector_runs_again_once_app_and_a_capability_are_imported_and_skips_what_they_made() -> None:
    probe = (
        "import gc, json, app\n"
        "from chalicelib.core import capabilities\n"
        "after_app = [gc.isenabled(), gc.get_freeze_count()]\n"
        "capabilities.capability_routes('orders')\n"
        "print(json.dumps([after_app, [gc.isenabled(), gc.get_freeze_count()]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, check=True
    )
    (app_enabled, app_frozen), (routes_enabled, routes_frozen) = json.loads(done.stdout.strip().splitlines()[-1])
    assert app_enabled  # never left paused: cyclic garbage is collected as before
    assert routes_enabled
    assert 0 < app_frozen < routes_frozen  # what each import made is frozen


def test_an_import_inside_another_leaves_the_collector_paused_until_the_outer_one_ends() -> None:
    assert gc.isenabled()
    with capabilities.importing():
        with capabilities.importing():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
