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
        for address in _also_embedded(candidate):
            if not address.is_global or address.is_multicast:
                return str(address)
    return ""


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _also_embedded(address):
    """``address`` and the IPv4 addresses an IPv6 one carries (mapped, NAT64, 6to4, Teredo)."""
    found = []
    if isinstance(address, ipaddress.IPv6Address):
        found += [a for a in (address.ipv4_mapped, address.sixtofour) if a]
        if address.teredo:
            found += list(address.teredo)
        if address in NAT64:
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [*found, address]
