"""The one gate of every connection to a mail server a user typed.

A custom mailbox makes Odoo connect to a host and port a user wrote: without a gate,
that is a port scanner of the network Odoo runs in. Every socket to such a server is
opened by :func:`connect`, which

* resolves the host once (through ``policy.resolver``, ``socket.getaddrinfo`` by
  default) and refuses it when any address of the answer is private, loopback,
  link-local, multicast or reserved (also an IPv4 address carried inside an IPv6 one),
  unless the policy allows private networks;
* connects to those checked addresses, never to the name again: a DNS answer that
  changes between the check and the connection (rebinding) cannot send the connection
  elsewhere. TLS is set up by the caller with the host name, so the certificate is
  still checked against the name (and SNI still names it).

The per-user rate of connection attempts is counted by the addon (it needs the
database); this module is plain Python.
"""

import ipaddress
import socket
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Policy:
    """Where connections may go. ``allow_private``: private, loopback and link-local
    addresses too (a server inside the company's network, the local test servers)."""

    allow_private: bool = True
    resolver: object = field(default=socket.getaddrinfo, compare=False, repr=False)


ANYWHERE = Policy(allow_private=True)
PUBLIC_ONLY = Policy(allow_private=False)


class HostRefusedError(OSError):
    """The host stands for an address the policy refuses. The address itself is not in
    the message (that would answer DNS questions about the internal network)."""

    def __init__(self, host):
        super().__init__(f"{host} is on a network Odoo does not connect to for this mailbox")
        self.host = host


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_addresses(address):
    """``address`` and the IPv4 addresses an IPv6 one carries (mapped, NAT64, 6to4, Teredo)."""
    found = []
    if isinstance(address, ipaddress.IPv6Address):
        found += [a for a in (address.ipv4_mapped, address.sixtofour) if a]
        if address.teredo:
            found += list(address.teredo)
        if address in NAT64:
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [*found, address]


def is_restricted(address):
    """Whether ``address`` (an :mod:`ipaddress` object) is not a public unicast address."""
    return any(not found.is_global or found.is_multicast for found in embedded_addresses(address))


def resolve(host, port, policy=ANYWHERE):
    """The socket addresses ``host`` stands for, each checked: ``[(family, sockaddr)]``.

    Raises :class:`HostRefusedError` when any of them is refused (one private address in
    the answer is enough: the connection could go there), :class:`socket.gaierror` when
    the name does not resolve."""
    name = (host or "").strip().strip("[]")
    if not name:
        raise socket.gaierror(socket.EAI_NONAME, "no host")
    infos = policy.resolver(name, port, type=socket.SOCK_STREAM)
    found = []
    for family, _type, _proto, _canonname, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if not policy.allow_private and is_restricted(address):
            raise HostRefusedError(name)
        if (family, sockaddr) not in found:
            found.append((family, sockaddr))
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    return found


def check(host, port, policy):
    """:func:`resolve` for its refusal only: ``True`` when ``host`` may be connected to
    (a name that does not resolve is left to the connection, which reports it)."""
    try:
        resolve(host, port, policy)
    except HostRefusedError:
        return False
    except (OSError, UnicodeError):
        return True
    return True


def connect(host, port, timeout, policy=ANYWHERE):
    """A TCP socket to ``host``:``port``, connected to an address :func:`resolve`
    checked (each in turn, as ``socket.create_connection`` would try them)."""
    last = None
    for family, sockaddr in resolve(host, port, policy):
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return sock
    raise last
