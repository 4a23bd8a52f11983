"""``free_port``: ports for servers started a moment later, out of the way of outgoing connections."""

from __future__ import annotations

import socket

import pytest

from localdev import stack


def test_the_ports_stay_below_the_ephemeral_range_and_never_repeat_in_one_process() -> None:
    ports = [stack.free_port() for _ in range(300)]

    assert len(set(ports)) == len(ports)
    assert all(stack._PORT_FLOOR <= port < stack._ephemeral_floor() for port in ports)


def test_a_port_promised_in_a_btrix_variable_or_held_by_a_server_is_not_picked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))  # any port this machine gives; the range is built around it
        held.listen()
        port = held.getsockname()[1]
        floor, ceiling = port - 990, port + 10
        monkeypatch.setattr(stack, "_PORT_FLOOR", floor)
        monkeypatch.setattr(stack, "_ephemeral_floor", lambda: ceiling)
        monkeypatch.setattr(stack, "_handed_out", set())
        for promised in range(floor, port):
            monkeypatch.setenv(f"BTRIX_TEST{promised}_PORT", str(promised))

        picked = {stack.free_port() for _ in range(5)}

    assert picked <= set(range(port + 1, ceiling))
