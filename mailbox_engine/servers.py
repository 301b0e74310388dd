"""Which server addresses a user may point a custom mailbox at.

A custom mailbox makes Odoo connect to a host and port the user typed. Without a
limit, that is a port scanner of the network Odoo runs in: private, loopback,
link-local and other non-public addresses are for administrators only.
"""

import ipaddress
import socket


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
        address = candidate.ipv4_mapped if isinstance(candidate, ipaddress.IPv6Address) else None
        address = address or candidate
        if not address.is_global or address.is_multicast:
            return str(address)
    return ""
