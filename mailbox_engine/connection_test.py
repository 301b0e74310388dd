"""Step-by-step checks of an IMAP or SMTP server, each step with its own diagnosis.

``check_imap`` and ``check_smtp`` return a list of :class:`Step`: DNS, TCP, TLS (or
STARTTLS), capabilities or EHLO, then the login. They stop at the first failing
step, whose :class:`~mailbox_engine.diagnosis.Diagnosis` names the cause and the fix.
"""

import contextlib
import ipaddress
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from imapclient.exceptions import IMAPClientError, LoginError

from . import diagnosis, imap, netgate, smtp
from .diagnosis import Diagnosis
from .providers import SECURITY_NONE, SECURITY_SSL, SECURITY_STARTTLS, default_port

INTERESTING_IMAP_CAPABILITIES = ("IMAP4REV1", "IDLE", "CONDSTORE", "QRESYNC", "MOVE", "UIDPLUS", "SPECIAL-USE")


@dataclass
class Step:
    name: str
    ok: bool
    detail: str = ""
    diagnosis: Diagnosis | None = None


@dataclass
class Server:
    """Where and how to log in. Exactly one of ``password`` and ``oauth_token`` is set."""

    host: str
    port: int
    security: str
    login: str
    password: str = ""
    oauth_token: str = ""
    timeout: float = 15.0
    ssl_context: ssl.SSLContext | None = None
    label: str = ""  # how to name the provider in messages (default: the host)
    policy: netgate.Policy = netgate.ANYWHERE  # where the gate lets connections go

    def context(self):
        return self.ssl_context or default_ssl_context()


_default_context = None
_default_context_lock = threading.Lock()


def default_ssl_context():
    """The system's TLS settings and CA store, loaded once per process (loading the CA
    store costs about 20 ms of CPU; one context serves every thread's connections)."""
    global _default_context  # noqa: PLW0603 - a process-wide cache
    with _default_context_lock:
        if _default_context is None:
            _default_context = ssl.create_default_context()
        return _default_context


class StepFailedError(Exception):
    def __init__(self, step):
        super().__init__(step.name)
        self.step = step


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _timed(start):
    return f"{(time.monotonic() - start) * 1000:.0f} ms"


def _reach(server, steps, params, probe_tcp=True):
    """Security policy, then DNS and TCP (shared by IMAP and SMTP). Without
    ``probe_tcp`` (the scheduled health check) the separate TCP connection that times
    the port is skipped: opening the session says the same, one connection cheaper."""
    if server.security == SECURITY_NONE and not is_loopback(server.host):
        raise _failed("Security", diagnosis.diagnose("plaintext_refused", "SECURITY", **params))
    if not probe_tcp:
        return
    try:
        addresses = netgate.resolve(server.host, server.port, server.policy)
    except (OSError, UnicodeError) as exc:
        raise _failed(_step_of(exc, "DNS"), diagnosis.from_network_error(exc, **params)) from None
    steps.append(Step("DNS", True, f"{server.host} → {addresses[0][1][0]}"))
    start = time.monotonic()
    try:
        netgate.connect(server.host, server.port, server.timeout, server.policy).close()
    except OSError as exc:
        raise _failed("TCP", diagnosis.from_network_error(exc, timeout=server.timeout, **params)) from None
    steps.append(Step("TCP", True, f"port {server.port} answers ({_timed(start)})"))


def diagnosis_params(server, protocol, address):
    """The placeholders a diagnosis about ``server`` fills in."""
    return {
        "address": address,
        "provider": server.label or server.host,
        "host": server.host,
        "port": server.port,
        "protocol": protocol,
        "ssl_port": default_port(protocol.lower(), SECURITY_SSL),
        "starttls_port": default_port(protocol.lower(), SECURITY_STARTTLS),
    }


def _failed(name, diag):
    return StepFailedError(Step(name, False, "", diag))


def _connect_failure(server, exc, params, tcp_checked=True):
    """A failure while opening the session: TLS when TLS was asked for, else the greeting
    (or DNS and TCP themselves, when they were not checked apart)."""
    tls = server.security != SECURITY_NONE
    if isinstance(exc, socket.gaierror):
        name = "DNS"
    elif isinstance(exc, ConnectionRefusedError) or (
        not tcp_checked and isinstance(exc, TimeoutError | socket.timeout)
    ):
        name = "TCP"
    else:
        name = "TLS" if tls else "Greeting"
    return _failed(_step_of(exc, name), diagnosis.from_network_error(exc, timeout=server.timeout, tls=tls, **params))


def _step_of(exc, name):
    return "Address" if isinstance(exc, netgate.HostRefusedError) else name


def _protocol_failure(params):
    # what the other side said is never echoed: it may be another service's banner
    return _failed("Greeting", diagnosis.diagnose("not_mail", params["protocol"], **params))


def check_imap(server, address, probe_tcp=True, wait_goodbye=True):
    """Check an IMAP server step by step; return the steps (the last one failed if any did).
    Without ``wait_goodbye`` (the scheduled check) LOGOUT is sent and not waited for."""
    steps = []
    params = diagnosis_params(server, "IMAP", address)
    client = None
    try:
        _reach(server, steps, params, probe_tcp)
        start = time.monotonic()
        try:
            client = imap.open_client(server)
        except imap.StartTLSMissingError:
            raise _failed("STARTTLS", diagnosis.diagnose("no_starttls", "STARTTLS", **params)) from None
        except (OSError, EOFError) as exc:
            raise _connect_failure(server, exc, params, probe_tcp) from None
        except IMAPClientError:
            raise _protocol_failure(params) from None
        if server.security != SECURITY_NONE:
            steps.append(Step("TLS", True, f"{client.socket().version()} ({_timed(start)})"))
        before = [c.decode().upper() for c in client.capabilities()]
        steps.append(Step("Capabilities", True, " ".join(c for c in before if c.startswith(("IMAP4", "AUTH=")))))
        try:
            imap.login(client, server, address)
        except LoginError as exc:
            raise _failed(
                "Login", diagnosis.from_imap_error(exc, with_password=not server.oauth_token, **params)
            ) from None
        except (OSError, EOFError) as exc:
            raise _failed("Login", diagnosis.from_network_error(exc, timeout=server.timeout, **params)) from None
        after = {c.decode().upper() for c in client.capabilities()}
        features = " ".join(c for c in INTERESTING_IMAP_CAPABILITIES if c in after)
        who = address if server.oauth_token else server.login
        steps.append(Step("Login", True, f"signed in as {who}; server offers {features}"))
    except StepFailedError as failed:
        steps.append(failed.step)
    finally:
        if client is not None and not wait_goodbye:
            imap.quit_now(client)
        elif client is not None:
            with contextlib.suppress(OSError, EOFError, IMAPClientError):
                client.logout()
    return steps


def check_smtp(server, address, probe_tcp=True, wait_goodbye=True):
    """Check an SMTP (submission) server step by step, ending with AUTH. Without
    ``wait_goodbye`` (the scheduled check) QUIT is sent and not waited for."""
    steps = []
    params = diagnosis_params(server, "SMTP", address)
    connection = None
    try:
        _reach(server, steps, params, probe_tcp)
        start = time.monotonic()
        try:
            connection = smtp.open_connection(server)
        except smtplib.SMTPNotSupportedError:
            raise _failed("STARTTLS", diagnosis.diagnose("no_starttls", "STARTTLS", **params)) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise _connect_failure(server, exc, params, probe_tcp) from None
        except smtplib.SMTPException:  # an OSError too: before it
            raise _protocol_failure(params) from None
        except (OSError, EOFError) as exc:
            raise _connect_failure(server, exc, params, probe_tcp) from None
        code = 250
        if server.security != SECURITY_NONE:
            steps.append(Step("TLS", True, f"{connection.sock.version()} ({_timed(start)})"))
        mechanisms = (connection.esmtp_features.get("auth") or "").upper().split()
        steps.append(Step("EHLO", True, f"{code}; AUTH {' '.join(mechanisms) or '(none)'}"))
        code, answer = smtp.authenticate(connection, server.login, server.password, server.oauth_token, address)
        if code != 235:
            raise _failed(
                "AUTH", diagnosis.from_smtp_error(code, answer, with_password=not server.oauth_token, **params)
            )
        who = address if server.oauth_token else server.login
        steps.append(Step("AUTH", True, f"235 signed in as {who}"))
    except StepFailedError as failed:
        steps.append(failed.step)
    finally:
        if connection is not None and not wait_goodbye:
            smtp.quit_now(connection)
        elif connection is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                connection.quit()
    return steps
