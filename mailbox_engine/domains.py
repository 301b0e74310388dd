"""Whose server a host is: the address's own domain, a known provider, or someone else.

A shareable reconnect link asks whoever holds an inbox to type its password; that
password goes to the mailbox's servers. Those servers are trusted for it only when
they belong to the address's own domain (the host is that domain or one of its
subdomains) or are a known provider's published hosts.

Only "the domain itself or below it" counts, never a sibling or a parent: without
the public suffix list, ``mail.company.example`` and ``imap.company.example`` cannot
be told to share one registrable domain (``company.co.uk`` and ``evil.co.uk`` share
only ``co.uk``), so a host is accepted only where the address's owner alone decides
(its DNS zone). A host given as an IP address belongs to no domain.
"""

import ipaddress

from . import providers


def clean_host(host):
    """``host`` lower-case, without spaces or a final dot, in its ASCII (IDNA) form; ``""``
    when it is not a host name at all."""
    text = (host or "").strip().strip("[]").rstrip(".").lower()
    if not text or len(text) > 253 or any(char.isspace() or char in "/@:<>\"'\\" for char in text):
        return ""
    try:
        return text.encode("idna").decode("ascii")
    except UnicodeError:
        return ""


def is_ip_address(host):
    try:
        ipaddress.ip_address((host or "").strip().strip("[]"))
    except ValueError:
        return False
    return True


def provider_hosts():
    """The published hosts of the providers Odoo knows (Google, Microsoft)."""
    return {
        host for provider in providers.PROVIDERS.values() for host in (provider.imap_host, provider.smtp_host) if host
    }


def host_serves_address(host, address):
    """Whether ``host`` may receive the password of ``address``: it is a known provider's
    published host, or the address's domain or one of its subdomains."""
    name = clean_host(host)
    if not name or is_ip_address(name):
        return False
    if name in provider_hosts():
        return True
    domain = clean_host((address or "").rpartition("@")[2])
    if not domain or "." not in domain:
        return False
    return name == domain or name.endswith("." + domain)
