"""The one gate of connections to servers users typed: the whole DNS answer is checked,
the checked address is the one connected to (no DNS rebinding), TLS still checks the
name, and nothing a non-mail service sends is kept."""

import smtplib
import socket
import ssl
import threading
import urllib.parse

import pytest

from devstack.testkit import RecordingServer as Listener
from mailbox_engine import imap, netgate, smtp
from mailbox_engine.connection_test import Server, check_imap, check_smtp
from mailbox_engine.netgate import HostRefusedError, Policy
from mailbox_engine.sync.run import SyncFailedError, sign_in

ALICE = "alice@mail.test"
PUBLIC = "93.184.215.14"  # a public unicast address


def answer(*addresses, port=993):
    """A getaddrinfo answer for ``addresses``."""
    infos = []
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
        infos.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
    return infos


class Resolver:
    """A DNS that gives each answer in turn (the last one again), counting the questions."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.asked = []

    def __call__(self, host, port, type=0):
        self.asked.append(host)
        found = self.answers[min(len(self.asked), len(self.answers)) - 1]
        return answer(*found, port=port)


@pytest.fixture
def listener():
    running = []

    def make(**kw):
        running.append(Listener(**kw))
        return running[-1]

    yield make
    for item in running:
        item.close()


# ---------------------------------------------------------------------- the DNS answer
@pytest.mark.parametrize(
    "addresses",
    [
        (PUBLIC, "10.0.0.7"),  # one private address among public ones is enough
        ("10.0.0.7", PUBLIC),
        (PUBLIC, "::1"),
        (PUBLIC, "::ffff:192.168.1.1"),  # IPv4 inside IPv6
        ("64:ff9b::a9fe:a9fe",),  # NAT64 of 169.254.169.254
        ("224.0.0.1",),  # multicast
        ("240.0.0.1",),  # reserved
        ("0.0.0.0",),  # noqa: S104 - an address under test, not a bind
    ],
)
def test_any_refused_address_in_the_answer_refuses_the_host(addresses):
    policy = Policy(allow_private=False, resolver=Resolver(addresses))
    with pytest.raises(HostRefusedError) as info:
        netgate.resolve("mail.example.com", 993, policy)
    assert "mail.example.com" in str(info.value)
    assert all(address not in str(info.value) for address in addresses)  # the address is not told
    assert not netgate.check("mail.example.com", 993, policy)


def test_a_public_answer_passes_and_private_ones_pass_when_allowed():
    resolver = Resolver((PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"))
    found = netgate.resolve("mail.example.com", 993, Policy(allow_private=False, resolver=resolver))
    assert [sockaddr[0] for _family, sockaddr in found] == [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    private = Policy(allow_private=True, resolver=Resolver(("10.0.0.7",)))
    assert netgate.resolve("mail.internal", 993, private)[0][1][0] == "10.0.0.7"


def test_a_name_that_does_not_resolve_is_left_to_the_connection():
    def nxdomain(*_args, **_kw):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    policy = Policy(allow_private=False, resolver=nxdomain)
    assert netgate.check("imap.no-such-host.invalid", 993, policy)
    with pytest.raises(socket.gaierror):
        netgate.connect("imap.no-such-host.invalid", 993, 1, policy)


def test_a_refused_host_opens_no_connection(listener, stack):
    server = listener()
    policy = Policy(allow_private=False)
    for host in ("127.0.0.1", "localhost"):
        with pytest.raises(HostRefusedError):
            netgate.connect(host, server.port, 1, policy)
    imap_server = Server("127.0.0.1", server.port, "none", ALICE, "secret", timeout=2, policy=policy)
    with pytest.raises(HostRefusedError):
        imap.open_client(imap_server)
    with pytest.raises(HostRefusedError):
        smtp.open_connection(imap_server)
    with pytest.raises(SyncFailedError) as info:
        sign_in(imap_server, ALICE)
    assert info.value.diagnosis.kind == "host_refused"
    steps = check_imap(imap_server, ALICE)
    assert (steps[-1].name, steps[-1].ok, steps[-1].diagnosis.kind) == ("Address", False, "host_refused")
    steps = check_smtp(imap_server, ALICE, probe_tcp=False)
    assert steps[-1].diagnosis.kind == "host_refused"
    assert server.accepted == []


# ---------------------------------------------------------------------- rebinding
def test_the_address_connected_to_is_the_one_checked(listener):
    """A DNS that answers a first address at the check and another one later (rebinding)
    cannot move the connection: the name is resolved once, the checked address used."""
    checked = listener(host="127.0.0.1")
    rebound = listener(host="127.0.0.2", port=checked.port)  # where a second lookup would lead
    resolver = Resolver(("127.0.0.1",), ("127.0.0.2",))
    policy = Policy(allow_private=True, resolver=resolver)
    netgate.connect("mail.example.com", checked.port, 2, policy).close()
    assert resolver.asked == ["mail.example.com"]
    _wait_for(lambda: checked.accepted)
    assert rebound.accepted == []


def test_rebinding_to_loopback_after_a_public_answer_goes_nowhere_near_loopback(listener):
    inside = listener()
    resolver = Resolver((PUBLIC,), ("127.0.0.1",))
    policy = Policy(allow_private=False, resolver=resolver)
    with pytest.raises(OSError) as info:  # the public address does not answer here, in time
        netgate.connect("mail.example.com", inside.port, 0.5, policy)
    assert not isinstance(info.value, HostRefusedError)
    assert resolver.asked == ["mail.example.com"]
    assert inside.accepted == []


def test_imap_and_smtp_connect_to_the_checked_address_under_the_name(stack):
    resolver = Resolver(("127.0.0.1",))
    policy = Policy(allow_private=True, resolver=resolver)
    server = Server(
        "mail.gate.test", stack["imap_port"], "none", ALICE, stack["accounts"][ALICE], timeout=5, policy=policy
    )
    with imap.session(server, ALICE) as client:
        assert client.host == "mail.gate.test"
        assert client.select_folder("INBOX")
    assert resolver.asked == ["mail.gate.test"]
    submission = Server("mail.gate.test", stack["submission_port"], "none", ALICE, "", timeout=5, policy=policy)
    connection = smtp.open_connection(submission)
    try:
        assert connection.sock.getpeername()[0] == "127.0.0.1"
    finally:
        connection.quit()
    assert resolver.asked == ["mail.gate.test", "mail.gate.test"]


def test_tls_is_checked_against_the_name_not_the_address(stack):
    """The emulator's certificate names localhost and 127.0.0.1: reached as another name
    (resolved to 127.0.0.1), the certificate is refused; as localhost, TLS works."""
    port = urllib.parse.urlsplit(stack["microsoft"]["url"]).port
    context = ssl.create_default_context(cafile=stack["microsoft"]["ca_bundle"])
    policy = Policy(allow_private=True, resolver=Resolver(("127.0.0.1",)))
    other = Server("mail.other.test", port, "ssl", ALICE, "", timeout=2, ssl_context=context, policy=policy)
    with pytest.raises(ssl.SSLCertVerificationError):
        imap.open_client(other)
    with pytest.raises(ssl.SSLCertVerificationError):
        smtp.open_connection(other)
    named = Server("localhost", port, "ssl", ALICE, "", timeout=1, ssl_context=context, policy=policy)
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):  # TLS passed; HTTPS greets nobody
        smtp.open_connection(named)


# ---------------------------------------------------------------------- foreign words
BANNER = b"220 localhost ESMTP Postfix secret-build-7731\r\n"


@pytest.mark.parametrize(
    "banner", [BANNER, b"SSH-2.0-OpenSSH_9.2p1 secret-build-7731\r\n", b"HTTP/1.1 400 secret-build-7731\r\n\r\n"]
)
def test_a_service_that_is_not_imap_gives_odoo_s_sentence(listener, banner):
    service = listener(banner=banner)
    server = Server("127.0.0.1", service.port, "none", ALICE, "secret", timeout=2)
    steps = check_imap(server, ALICE)
    failed = steps[-1]
    assert (failed.name, failed.ok, failed.diagnosis.kind) == ("Greeting", False, "not_mail")
    with pytest.raises(SyncFailedError) as info:
        sign_in(server, ALICE)
    assert info.value.diagnosis.kind == "not_mail"
    for diagnosis in (failed.diagnosis, info.value.diagnosis):
        cause, fix = diagnosis.render()
        assert f"127.0.0.1:{service.port} does not behave like an IMAP server" in cause
        assert "Check the host and the port" in fix
        assert "secret-build" not in f"{cause} {fix} {diagnosis.params} {diagnosis.provider_code}"
    assert "secret-build" not in " ".join(step.detail for step in steps)


@pytest.mark.parametrize(
    "banner", [b"SSH-2.0-OpenSSH_9.2p1 secret-build-7731\r\n", b"* OK IMAP4rev1 secret-build-7731\r\n"]
)
def test_a_service_that_is_not_smtp_gives_odoo_s_sentence(listener, banner):
    service = listener(banner=banner)
    server = Server("127.0.0.1", service.port, "none", ALICE, "secret", timeout=2)
    with pytest.raises(smtp.NotSMTPError) as info:
        smtp.open_connection(server)
    assert "secret-build" not in str(info.value)
    failed = check_smtp(server, ALICE)[-1]
    assert failed.diagnosis.kind == "not_mail"
    cause, fix = failed.diagnosis.render()
    assert "does not behave like an SMTP server" in cause
    assert "secret-build" not in f"{cause} {fix} {failed.detail}"


def _wait_for(condition, seconds=5.0):
    done = threading.Event()
    for _n in range(int(seconds / 0.05)):
        if condition():
            return
        done.wait(0.05)
    raise AssertionError("the condition never held")
