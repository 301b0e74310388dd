"""Which server addresses a user may point a custom mailbox at.

A custom mailbox makes Odoo connect to a host and port the user typed. Without a
limit, that is a port scanner of the network Odoo runs in: private, loopback,
link-local and other non-public addresses are for administrators only. The gate of
every connection is :mod:`.netgate`; this names the first such address of a host.
"""

import ipaddress
import socket

from .netgate import embedded_addresses


def restricted_address(host, port=None):
    """The first non-public address ``host`` stands for, as text, or ``""``.

    A host that does not resolve is not restricted here: the connection check then
    reports the DNS failure in its own words.
    """
    host = (host or "").strip().strip("[]")
    if not host:
        return ""
    try:
        candidates = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return ""
        candidates = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for candidate in candidates:
        for address in embedded_addresses(candidate):
            if not address.is_global or address.is_multicast:
                return str(address)
    return ""
