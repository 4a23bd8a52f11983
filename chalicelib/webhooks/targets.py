"""Where a webhook may be sent (SSRF): https to hosts that resolve to public addresses only.

A URL is checked when an endpoint is created or changed, and again at every delivery, because DNS can change in
between (rebinding). At delivery the request goes to the very address that passed the check: the URL's host is
replaced by that address, while the ``Host`` header and the TLS server name (SNI, which the certificate is
verified against) stay the original host name.

Refused: private, loopback, link-local, multicast, reserved, unspecified and other non-global addresses
(``ipaddress``), IPv4 addresses mapped into IPv6 included. ``BTRIX_WEBHOOK_ALLOW_LOOPBACK`` (off by default,
ignored outside the local stage) lets tests and ``make run`` deliver to a receiver on 127.0.0.1 / ::1, over
plain http too.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from chalicelib.core.config import get_settings

__all__ = ["Target", "TargetRefused", "check_url", "loopback_allowed", "resolve"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def loopback_allowed() -> bool:
    """Whether loopback targets are allowed: ``BTRIX_WEBHOOK_ALLOW_LOOPBACK`` on, in the local stage only."""
    settings = get_settings()
    return settings.webhook_allow_loopback and settings.stage == "local"


class TargetRefused(ValueError):
    """Raised when a webhook URL is malformed or its host resolves to an address webhooks may not reach."""


@dataclass(frozen=True)
class Target:
    """A checked URL and the address to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: IPAddress
    path: str

    @property
    def host_header(self) -> str:
        """The ``Host`` header: the original host, with its port when it is not the scheme's default."""
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address (no second DNS lookup when connecting)."""
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise TargetRefused("not a valid URL") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("must be an https URL with a host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not carry credentials (they would show in logs and delivery records)")
    if parts.fragment:
        raise TargetRefused("must not have a #fragment")
    return parts


def _refusal(address: IPAddress, allow_loopback: bool) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    for refused, what in (
        (address.is_unspecified, "an unspecified address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
    ):
        if refused:
            return what
    return None if address.is_global else "a non-public address"


def _addresses(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"the host {host} does not resolve") from exc
    found: list[IPAddress] = []
    for info in infos:
        # The scope id of an IPv6 link-local address ("fe80::1%eth0") is cut off: the address is refused anyway.
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in found:
            found.append(address)
    if not found:
        raise TargetRefused(f"the host {host} does not resolve")
    return found


def resolve(url: str, *, allow_loopback: bool) -> Target:
    """Check ``url`` and resolve its host now; every address it resolves to must be allowed.

    Plain http is accepted only for loopback targets when ``allow_loopback`` is on. Raises ``TargetRefused``.
    """
    parts = _split(url)
    host = str(parts.hostname)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _addresses(host, port)
    for address in addresses:
        why = _refusal(address, allow_loopback)
        if why is not None:
            raise TargetRefused(f"{host} resolves to {why} ({address}), which webhooks may not reach")
    if parts.scheme == "http" and not all(a.is_loopback for a in addresses):
        raise TargetRefused("must be an https URL (plain http only to loopback, in local runs)")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(url=url.strip(), scheme=parts.scheme, host=host, port=port, address=addresses[0], path=path)


def check_url(url: str, *, allow_loopback: bool) -> str:
    """``url`` stripped, once it passes ``resolve``."""
    return resolve(url, allow_loopback=allow_loopback).url
