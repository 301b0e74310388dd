"""SMTP sign-in through a user's own mailbox: XOAUTH2 for Google and Microsoft, the
password for custom servers. Only a 235 answer counts as signed in.

Odoo's own Gmail and Outlook servers send ``AUTH XOAUTH2`` and ignore the answer: a
revoked token then fails later, once per message, as an unknown error. Here the
answer is checked, so a lost access shows at sign-in, once.
"""

import base64
import contextlib
import re
import smtplib

from . import netgate
from .providers import SECURITY_SSL, SECURITY_STARTTLS


class GatedSMTP(smtplib.SMTP):
    """:class:`smtplib.SMTP` whose socket is opened by :func:`.netgate.connect` (STARTTLS
    still checks the certificate against the host name)."""

    def __init__(self, host, port, policy, timeout):
        self._policy = policy
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host, port, timeout):
        return netgate.connect(host, port, timeout, self._policy)


class GatedSMTPSSL(smtplib.SMTP_SSL):
    """:class:`smtplib.SMTP_SSL` through the gate; TLS against the host name."""

    def __init__(self, host, port, policy, timeout, context):
        self._policy = policy
        super().__init__(host, port, timeout=timeout, context=context)

    def _get_socket(self, host, port, timeout):
        sock = netgate.connect(host, port, timeout, self._policy)
        try:
            return self.context.wrap_socket(sock, server_hostname=self._host)
        except BaseException:
            sock.close()
            raise


class NotSMTPError(smtplib.SMTPException):
    """The other side did not answer as an SMTP server (its words are not kept)."""


def open_connection(server):
    """An SMTP connection to a :class:`~.connection_test.Server` through the gate, TLS
    set up as asked and EHLO said. A refused host raises
    :class:`~.netgate.HostRefusedError`; a peer that does not speak SMTP raises
    :class:`NotSMTPError` (whatever it sent is dropped); a server without STARTTLS when
    it was asked for raises :class:`smtplib.SMTPNotSupportedError`."""
    connection = None
    try:
        if server.security == SECURITY_SSL:
            connection = GatedSMTPSSL(server.host, server.port, server.policy, server.timeout, server.context())
        else:
            connection = GatedSMTP(server.host, server.port, server.policy, server.timeout)
        _ehlo(connection, server)
        if server.security == SECURITY_STARTTLS:
            if not connection.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError("STARTTLS")
            connection.starttls(context=server.context())
            _ehlo(connection, server)
    except (smtplib.SMTPNotSupportedError, NotSMTPError):
        _close(connection)
        raise
    except smtplib.SMTPResponseException:  # a greeting that is not 220, STARTTLS refused…
        _close(connection)
        raise NotSMTPError(server.host) from None
    except BaseException:
        _close(connection)
        raise
    return connection


def _ehlo(connection, server):
    """EHLO, which every submission server answers with 250 (AUTH needs ESMTP)."""
    code, _answer = connection.ehlo()
    if code != 250:
        raise NotSMTPError(server.host)


def quit_now(connection):
    """QUIT sent, its answer not waited for: the connection is closed at once."""
    with contextlib.suppress(OSError, smtplib.SMTPException):
        connection.send("QUIT\r\n")
    _close(connection)


def _close(connection):
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.close()


def xoauth2(user, token):
    """The SASL XOAUTH2 initial response (base64), as Google and Microsoft document it."""
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


def authenticate(connection, login, password="", oauth_token="", address=""):
    """Sign in on an open :class:`smtplib.SMTP`; return the final ``(code, answer)``.

    With ``oauth_token``: ``AUTH XOAUTH2`` as ``address``; otherwise LOGIN/PLAIN with
    ``login`` and ``password``. Never raises for a refusal: the code says it.
    """
    connection.ehlo_or_helo_if_needed()
    if oauth_token:
        code, answer = connection.docmd("AUTH", "XOAUTH2 " + xoauth2(address or login, oauth_token))
        if code == 334:  # the error comes as a challenge; an empty line ends the exchange
            code, answer = connection.docmd("")
        return code, answer
    try:
        connection.login(login, password)
    except smtplib.SMTPAuthenticationError as exc:
        return exc.smtp_code, exc.smtp_error
    except smtplib.SMTPNotSupportedError:
        return 504, b"AUTH not offered"
    except smtplib.SMTPException as exc:  # e.g. "No suitable authentication method found."
        return 504, str(exc).encode()
    return 235, b"Authenticated"


def login_or_raise(connection, login, password="", oauth_token="", address=""):
    """:func:`authenticate`, raising :class:`smtplib.SMTPAuthenticationError` unless 235."""
    code, answer = authenticate(connection, login, password, oauth_token, address)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)
    return code, answer


def explain_send_error(exc, size_limit=None):
    """A sentence that names what the server refused in a message, and what to do; or
    ``""`` for an error that is not an SMTP refusal (the caller keeps its own words)."""

    def answer(code, text):
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text or "")
        return f"{code} {text}".strip()

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{address} ({answer(*reply)})" for address, reply in exc.recipients.items())
        return f"The server refused every recipient of this message: {refused}. Check the addresses."
    if isinstance(exc, smtplib.SMTPResponseException) and (
        exc.smtp_code == 552 or "5.3.4" in answer(exc.smtp_code, exc.smtp_error)
    ):  # the size is refused at MAIL FROM (SIZE=) or after DATA
        limit = f" The server accepts at most {int(size_limit):,} bytes." if size_limit else ""
        reply = answer(exc.smtp_code, exc.smtp_error)
        return f"This message is larger than the server accepts ({reply}).{limit} Send smaller attachments."
    if isinstance(exc, smtplib.SMTPSenderRefused):
        sender = exc.sender.decode() if isinstance(exc.sender, bytes) else exc.sender
        return (
            f"The server refused the sender {sender} ({answer(exc.smtp_code, exc.smtp_error)}). The From "
            "address must be the mailbox's own address or one it may send as."
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = answer(exc.smtp_code, exc.smtp_error)
        if 400 <= exc.smtp_code < 500:
            return f"The server asked to try again later ({reply}). The message can be sent again."
        return f"The server refused this message ({reply})."
    return ""


THROTTLED = "throttled"  # the provider refuses more mail for now: the mailbox waits
RETRY = "retry"  # a passing failure of this message: it is tried again later
REFUSED = "refused"  # this message is refused for good: it fails, alone

# what providers answer to a sender over its rate or quota: Gmail ``421 4.7.0 Try
# again later`` and ``550 5.4.5 Daily user sending limit exceeded``; Microsoft
# ``432 4.3.2 … sender thread limit exceeded`` and ``554 5.2.0 …
# SubmissionQuotaExceededException``. A bare ``421`` (``421 4.3.2 Shutting down``: the
# server restarts) is a passing failure of the message, not a limit of the sender.
_THROTTLE_MARKS = re.compile(r"\b(4\.7\.0|4\.7\.28|5\.4\.5)\b|QuotaExceeded|rate limit|too many messages", re.I)


def _reply_kind(code, text):
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text or "")
    if code == 432 or _THROTTLE_MARKS.search(text):
        return THROTTLED
    if 400 <= code < 500:
        return RETRY
    return REFUSED


def classify_send_error(exc):
    """What an error while sending one message means: :data:`THROTTLED` (the mailbox
    must wait), :data:`RETRY` (try this message again later: the server said so, or the
    connection dropped before it confirmed the message, so it was not accepted),
    :data:`REFUSED` (fail this message alone), or ``None`` (not an SMTP answer)."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return RETRY
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        kinds = {_reply_kind(code, text) for code, text in exc.recipients.values()}
        if THROTTLED in kinds:
            return THROTTLED
        return RETRY if kinds == {RETRY} else REFUSED
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply_kind(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, OSError):  # the connection broke while sending
        return RETRY
    return None
