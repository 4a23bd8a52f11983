"""SSRF: which webhook URLs may be reached."""

from __future__ import annotations

import pytest

from chalicelib.webhooks.targets import TargetRefused, resolve

REFUSED = [
    ("https://10.0.0.5/hook", "private"),
    ("https://192.168.1.1/hook", "private"),
    ("https://172.16.3.4/hook", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://240.0.0.1/hook", "reserved"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://100.64.0.1/hook", "non-public"),
    ("https://[::ffff:10.0.0.1]/hook", "private"),
    ("https://[fc00::1]/hook", "private"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://[::1]/hook", "loopback"),
    ("https://localhost/hook", "loopback"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"),
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_non_public_targets_are_refused(url: str, why: str) -> None:
    with pytest.raises(TargetRefused, match=why):
        resolve(url, allow_loopback=False)


def test_loopback_is_allowed_only_with_the_setting_and_then_also_over_http() -> None:
    target = resolve("http://127.0.0.1:8123/hook?x=1", allow_loopback=True)
    assert (target.scheme, target.port, target.path) == ("http", 8123, "/hook?x=1")
    assert target.pinned_url == "http://127.0.0.1:8123/hook?x=1"
    with pytest.raises(TargetRefused):
        resolve("http://127.0.0.1:8123/hook", allow_loopback=False)
    with pytest.raises(TargetRefused, match="private"):
        resolve("https://10.1.2.3/hook", allow_loopback=True)


def test_public_https_targets_are_pinned_to_the_checked_address() -> None:
    target = resolve("https://93.184.215.14/webhooks", allow_loopback=False)
    assert target.pinned_url == "https://93.184.215.14:443/webhooks"
    assert target.host_header == "93.184.215.14"
    v6 = resolve("https://[2606:4700:4700::1111]:8443/", allow_loopback=False)
    assert v6.pinned_url == "https://[2606:4700:4700::1111]:8443/"
    assert v6.host_header == "[2606:4700:4700::1111]:8443"


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hook",
        "ftp://93.184.215.14/hook",
        "https:///nohost",
        "https://user:pass@93.184.215.14/hook",
        "https://93.184.215.14/hook#fragment",
        "https://93.184.215.14:99999/hook",
        "https://no-such-host.invalid/hook",
    ],
)
def test_malformed_plain_or_unresolvable_urls_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused):
        resolve(url, allow_loopback=False)
