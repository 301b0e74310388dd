"""Whose server a host is, for the password typed on a shareable reconnect link."""

import pytest

from mailbox_engine.domains import clean_host, host_serves_address

ADDRESS = "director@company.example"


@pytest.mark.parametrize(
    "host",
    ["company.example", "imap.company.example", "Mail.Company.Example.", " imap.eu.company.example ", "imap.gmail.com"],
)
def test_the_address_own_domain_or_a_known_provider(host):
    assert host_serves_address(host, ADDRESS)


@pytest.mark.parametrize(
    "host",
    [
        "company.example.evil.test",  # the domain as a prefix of someone else's
        "evilcompany.example",  # the domain as a suffix without the dot
        "imap.example",  # a parent
        "example",
        "127.0.0.1",  # an address belongs to no domain
        "[::1]",
        "",
        "imap.company.example/evil.test",
        "<a href=https://evil.test>Renew the client secret here</a>",
        "gmail.com.evil.test",
    ],
)
def test_any_other_host_is_someone_else(host):
    assert not host_serves_address(host, ADDRESS)


def test_a_sibling_domain_is_not_trusted():
    # mail.company.example and imap.company.example may share a registrable domain, but
    # without the public suffix list that cannot be told from company.co.uk / evil.co.uk
    assert not host_serves_address("imap.company.example", "director@mail.company.example")
    assert not host_serves_address("evil.co.uk", "director@company.co.uk")


def test_international_names_compare_in_their_ascii_form():
    assert clean_host("IMAP.Bücher.example") == "imap.xn--bcher-kva.example"
    assert host_serves_address("imap.xn--bcher-kva.example", "anna@bücher.example")
