"""The capabilities ``app.py`` serves, imported when first needed rather than when ``app`` is imported.

A new Lambda container pays for what ``import app`` imports before its first request. Importing every capability
(its models, services, stores and provider clients) cost about three times the floor (``docs/PERFORMANCE.md``), for a
container that then serves one route. So:

- **Routes.** Chalice needs the whole route table when ``app`` is imported (``chalice package`` builds API Gateway's
  from it, ``chalice local`` and ``chalice.test`` route with it). ``serve_routes(app, table)`` registers, for each
  line of the table (``chalicelib/route_table.py``: capability → ``(method, path, view name)``), a light stand-in
  view. Its first call imports ``chalicelib.<capability>.routes``; each call attaches the capability's blueprint to
  ``app`` (its views read ``current_request`` through it) and calls the declared view, which does everything it did when
  blueprints were registered eagerly (guard, parsing, problem+json). ``operation_of`` (``core/api.py``) sees through
  a stand-in to the declared operation, importing its capability: the OpenAPI document and the route tests read
  the same declarations as before.
- **Handlers of shared dispatchers.** Capabilities register with dispatchers at import (integration job kinds,
  redrive restarts, payable kinds, reference resolvers, delivery followers, provider probes). ``app.py`` hands
  ``load_later`` the function that imports and registers them all; a dispatcher calls ``load_registrations()``
  before it looks a registration up (or when a lookup misses), so every handler is in place before a message is
  dispatched, whichever capabilities the container has imported so far. The call is free after the first.

``check_routes`` compares a table with what the routes modules declare (the route table test runs it); a route a
module declares but the table lacks is not served.

Imports run with the cyclic garbage collector paused (``importing``; ``app.py`` pauses it for its own import and calls
``imported`` at its end): they make some hundred thousand objects that live as long as the process, and the
collections they would trigger only walk those again (about a tenth of a new container's first request, issue 20).
What an import made is then frozen (``gc.freeze``): later collections, on every request of a warm container, skip it.
Reference counting still frees everything as before; only cyclic garbage made before a freeze stays.
"""

from __future__ import annotations

import functools
import gc
import importlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Protocol

from chalice.app import Chalice

__all__ = [
    "ROUTES_MODULE",
    "RouteLine",
    "RouteTable",
    "capability_routes",
    "check_routes",
    "imported",
    "importing",
    "load_all_routes",
    "load_later",
    "load_registrations",
    "resolve_view",
    "serve_routes",
]

# (method, path, view name): one route as its capability's routes module declares it.
RouteLine = tuple[str, str, str]
RouteTable = Mapping[str, Sequence[RouteLine]]
# Where a capability's routes live: its ``blueprint`` and one function per declared view.
ROUTES_MODULE = "chalicelib.{capability}.routes"


class _Attachable(Protocol):
    """What a capability's blueprint offers (``core.api.ApiBlueprint``)."""

    declared: list[RouteLine]

    def attach(self, app: Chalice) -> None: ...


_loaders: list[Callable[[], None]] = []
# Held while a loader runs: a second thread (the local worker's consumers, the bench's) that looks a handler up then
# waits for the registrations instead of finding the list already emptied and the handler not registered yet.
# Re-entrant: a loader's imports may look a registration up in the same thread (the loader is popped by then).
_loading = threading.RLock()


def imported() -> None:
    """Freeze what the imports so far made and let the collector run again (the end of ``app.py``'s import, which
    paused it first)."""
    gc.freeze()
    gc.enable()


@contextmanager
def importing() -> Iterator[None]:
    """Run imports with the cyclic collector paused, then freeze what they made; a caller that found it paused
    (an outer ``importing``, another thread's) leaves it paused."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if running:
            gc.enable()


@functools.cache
def capability_routes(capability: str) -> ModuleType:
    """The routes module of ``capability`` (imported on the first call)."""
    with importing():
        return importlib.import_module(ROUTES_MODULE.format(capability=capability))


def resolve_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """The declared view behind a stand-in (importing its capability), or ``view`` itself."""
    target: tuple[str, str] | None = getattr(view, "btrix_serves", None)
    if target is None:
        return view
    capability, name = target
    declared: Callable[..., Any] = getattr(capability_routes(capability), name)
    return declared


def _stand_in(app: Chalice, capability: str, name: str) -> Callable[..., Any]:
    def view(**path_params: str) -> Any:
        module = capability_routes(capability)
        blueprint: _Attachable = module.blueprint
        blueprint.attach(app)  # its view reads the request through it
        declared: Callable[..., Any] = getattr(module, name)
        return declared(**path_params)

    view.__name__ = view.__qualname__ = name
    view.__module__ = ROUTES_MODULE.format(capability=capability)
    view.btrix_serves = (capability, name)  # type: ignore[attr-defined]
    return view


def serve_routes(app: Chalice, table: RouteTable) -> None:
    """Register every route of ``table`` with ``app``; each capability is imported on its first request."""
    for capability, lines in table.items():
        for method, path, name in lines:
            # The content types Chalice accepts are its default (JSON), as every declared operation's.
            app.route(path, methods=[method])(_stand_in(app, capability, name))


def load_all_routes(table: RouteTable) -> None:
    """Import every capability of ``table`` (what used to happen at ``import app``)."""
    for capability in table:
        capability_routes(capability)


def load_later(loader: Callable[[], None]) -> None:
    """Have ``loader`` (which imports capabilities that register handlers) run before a dispatcher's first lookup."""
    _loaders.append(loader)


def load_registrations() -> None:
    """Run the loaders not run yet (each once): every capability's registrations are in place afterwards, in every
    thread (one that calls while another thread's loader runs waits for it)."""
    with _loading, importing():
        while _loaders:
            _loaders.pop(0)()


def _declared(table: RouteTable) -> Iterator[tuple[str, RouteLine]]:
    for capability in table:
        blueprint: _Attachable = capability_routes(capability).blueprint
        for line in blueprint.declared:
            yield capability, line


def check_routes(table: RouteTable, capabilities: Sequence[str]) -> list[str]:
    """What differs between ``table`` and what the routes modules of ``capabilities`` declare (empty: nothing), each
    difference said with the line to add or remove."""
    declared = list(_declared({capability: () for capability in capabilities}))
    listed = [(capability, line) for capability, lines in table.items() for line in lines]
    problems = [
        f"{ROUTES_MODULE.format(capability=c)} declares {m} {p} ({n}): add {(m, p, n)!r} under {c!r}"
        for c, (m, p, n) in declared
        if (c, (m, p, n)) not in listed
    ]
    problems += [
        f"the table serves {m} {p} by {ROUTES_MODULE.format(capability=c)}.{n}, which declares no such route: "
        f"remove {(m, p, n)!r} from {c!r}"
        for c, (m, p, n) in listed
        if (c, (m, p, n)) not in declared
    ]
    return problems
