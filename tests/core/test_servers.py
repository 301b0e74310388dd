"""Which server addresses a user may point a custom mailbox at (no port scanning)."""

import pytest

from mailbox_engine.servers import restricted_address


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "10.0.0.8", "172.16.4.4", "192.168.1.1", "169.254.169.254", "::1", "fe80::1", "0.0.0.0"],  # noqa: S104
)
def test_private_loopback_and_link_local_are_restricted(host):
    assert restricted_address(host, 993)


@pytest.mark.parametrize("host", ["8.8.8.8", "2001:4860:4860::8888", "[2001:4860:4860::8888]"])
def test_public_addresses_are_not(host):
    assert restricted_address(host, 993) == ""


@pytest.mark.parametrize(
    ("host", "inside"),
    [("::ffff:10.0.0.1", "10.0.0.1"), ("64:ff9b::7f00:1", "127.0.0.1"), ("2002:7f00:1::1", "127.0.0.1")],
)
def test_ipv4_inside_ipv6_is_seen_through(host, inside):
    assert restricted_address(host) == inside


def test_a_name_that_does_not_resolve_is_left_to_the_dns_step():
    assert restricted_address("imap.no-such-host.invalid", 993) == ""
    assert restricted_address("", 993) == ""
