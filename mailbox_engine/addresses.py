"""Mailbox addresses: parse, check and normalise what a user typed."""

import re
from email.utils import parseaddr

_ADDRESS = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


class InvalidAddressError(ValueError):
    """The text is not a usable mailbox address; the message says how to write one."""


def normalize_address(text):
    """Return the bare, lower-case address in ``text`` ("Ann <Ann@Example.com>" works too).

    Raises :class:`InvalidAddressError` with a message that shows the expected form.
    """
    raw = (text or "").strip()
    if not raw:
        raise InvalidAddressError("The mailbox address is missing: write it as name@example.com.")
    address = parseaddr(raw)[1] if "<" in raw else raw
    address = address.strip().lower()
    local, _, domain = address.rpartition("@")
    if (
        not _ADDRESS.match(address)
        or len(address) > 254
        or len(local) > 64
        or ".." in address
        or local.startswith(".")
        or local.endswith(".")
    ):
        raise InvalidAddressError(f"“{raw}” is not a valid email address: write it as name@example.com.")
    try:
        domain.encode("idna")
    except UnicodeError:
        raise InvalidAddressError(f"“{raw}” has an invalid domain: write it as name@example.com.") from None
    return address
