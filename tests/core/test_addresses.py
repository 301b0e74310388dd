import pytest

from mailbox_engine.addresses import InvalidAddressError, normalize_address
from mailbox_engine.providers import PROVIDERS, default_port, redirect_uri


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Ann.Lee@Example.COM", "ann.lee@example.com"),
        ("  ann@example.com ", "ann@example.com"),
        ("Ann Lee <Ann@Example.com>", "ann@example.com"),
        ("sales+crm@sub.example.co.uk", "sales+crm@sub.example.co.uk"),
        ("alice@mail.test", "alice@mail.test"),
    ],
)
def test_normalize(typed, expected):
    assert normalize_address(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "ann",
        "ann@",
        "@example.com",
        "ann@example",
        "ann@@example.com",
        "ann@exa mple.com",
        "ann..lee@example.com",
        ".ann@example.com",
        "ann@-example.com",
        "a" * 65 + "@example.com",
    ],
)
def test_invalid_addresses_say_how_to_write_one(typed):
    with pytest.raises(InvalidAddressError, match=r"name@example\.com"):
        normalize_address(typed)


def test_redirect_uris_are_fixed_per_provider():
    assert redirect_uri("https://crm.example.com/", "google") == (
        "https://crm.example.com/mail_connected_mailbox/oauth/google/callback"
    )
    assert redirect_uri("https://crm.example.com", "microsoft") == (
        "https://crm.example.com/mail_connected_mailbox/oauth/microsoft/callback"
    )
    assert PROVIDERS["imap"].callback_path == ""


def test_default_ports():
    assert default_port("imap", "ssl") == 993
    assert default_port("imap", "starttls") == 143
    assert default_port("smtp", "ssl") == 465
    assert default_port("smtp", "starttls") == 587
