"""An SMTP sink on loopback (aiosmtpd): Dovecot's submission service relays to it.

Every message it receives is kept in memory and written to ``folder/<n>.eml``
so that tests can read what really left. Like a real server, it refuses recipients
that do not exist (any ``nobody@…`` address) with ``550 5.1.1``.

It also takes mail straight from a client on a second port, signed in with one of
``accounts`` (LOGIN or PLAIN; loopback only, so no TLS), and behaves as real submission servers do
when they are unwell, by recipient (tests of sending failures):

- ``busy@…``: ``421 4.7.0`` try again later, and the connection is closed (Gmail's
  answer to a sender over its rate);
- ``later@…``: ``451 4.3.0`` a temporary local problem;
- ``drop@…``: the connection is cut after the data, before any answer: the message
  is not accepted (nothing is kept).

And as a real MTA does when it finds out only after it took the message, it reports
back to the envelope sender (campaign feedback tests):

- ``gone@…``: accepted (250), then a moment later (``bounce_delay``, 0.2 s) a delivery
  status notification ``5.1.1`` user unknown (``Action: failed``, a hard bounce);
- ``full@…``: accepted, then a notification ``4.2.2`` mailbox full (``Action: delayed``,
  a soft bounce).

The notification is an RFC 3464 ``multipart/report; report-type=delivery-status`` from
``MAILER-DAEMON@mail.test`` (a human part, the ``message/delivery-status`` part with one
block per recipient, the original's headers as ``text/rfc822-headers``). It is delivered
into the sender's mailbox with ``deliver(address, raw)`` (the stack gives Dovecot's local
delivery agent), and also written to ``folder/dsn-<n>.eml``. A message with an empty
envelope sender (itself a notification) is never reported on.
"""

import logging
import os
import threading
from email.charset import Charset
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# aiosmtpd's own AUTH code reads an attribute it deprecated, and logs that each time
logging.getLogger("mail.log").addFilter(lambda record: "login_data is deprecated" not in record.getMessage())
_logger = logging.getLogger(__name__)

# recipients accepted, then reported on: local part -> (Action, Status, diagnostic)
LATER = {
    "gone": ("failed", "5.1.1", "550 5.1.1 <{address}>: Recipient address rejected: User unknown"),
    "full": ("delayed", "4.2.2", "452 4.2.2 <{address}>: Mailbox full, will retry"),
}
REPORTING_MTA = "sink.mail.test"
PLAIN = Charset("utf-8")
PLAIN.body_encoding = None  # 7 or 8 bit, readable as it is (no base64)


def delivery_report(original, sender, recipients, action):
    """The RFC 3464 report for ``recipients`` (``[(address, status, diagnostic)]``) of the
    message ``original`` (bytes) that ``sender`` sent: a human part, the
    ``message/delivery-status`` part and the original's headers."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "Mail Delivery System <MAILER-DAEMON@mail.test>"
    report["To"] = sender
    failed = action == "failed"
    report["Subject"] = "Undelivered Mail Returned to Sender" if failed else "Delayed Mail (still being retried)"
    report["Date"] = formatdate(localtime=False)
    report["Message-ID"] = make_msgid(domain=REPORTING_MTA)
    report["Auto-Submitted"] = "auto-replied"
    names = ", ".join(address for address, _status, _text in recipients)
    human = (
        f"Your message could not be delivered to {names}."
        if failed
        else f"Your message to {names} has not been delivered yet; delivery will be tried again."
    )
    report.attach(MIMEText(human + "\n", "plain", PLAIN))
    status = Message()  # its payload is a list of header blocks, as the generator writes it
    status.set_type("message/delivery-status")
    del status["MIME-Version"]
    per_message = Message()
    per_message["Reporting-MTA"] = f"dns; {REPORTING_MTA}"
    per_message["Arrival-Date"] = report["Date"]
    blocks = [per_message]
    for address, code, text in recipients:
        block = Message()
        block["Final-Recipient"] = f"rfc822; {address}"
        block["Original-Recipient"] = f"rfc822; {address}"
        block["Action"] = action
        block["Status"] = code
        block["Remote-MTA"] = f"dns; mx.{address.rpartition('@')[2]}"
        block["Diagnostic-Code"] = f"smtp; {text}"
        blocks.append(block)
    status.set_payload(blocks)
    report.attach(status)
    head = original.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    headers = MIMEText(head.decode("utf-8", "replace") + "\n", "rfc822-headers", PLAIN)
    report.attach(headers)
    return report.as_bytes()


class _Keep:
    def __init__(self, folder, sink):
        self.folder = folder
        self.sink = sink
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # a mailbox that does not exist, as real servers answer it (tests of refused recipients)
        local = address.lower().partition("@")[0]
        if local == "nobody":
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if local == "busy":
            server.loop.call_soon(server.transport.close)  # once the answer is out
            return "421 4.7.0 Try again later, closing connection."
        if local == "later":
            return "451 4.3.0 Temporary local problem, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(address.lower().startswith("drop@") for address in envelope.rcpt_tos):
            server.transport.abort()  # cut before the answer: not accepted
            return "421 4.4.2 Connection dropped"
        with self.lock:
            self.count += 1
            path = os.path.join(self.folder, f"{self.count:06d}.eml")
        with open(path, "wb") as fh:
            fh.write(b"X-Envelope-From: " + envelope.mail_from.encode() + b"\r\n")
            fh.write(b"X-Envelope-To: " + ", ".join(envelope.rcpt_tos).encode() + b"\r\n")
            if session.authenticated:  # signed in here (not relayed by Dovecot)
                fh.write(b"X-Authenticated-As: " + session.auth_data.login + b"\r\n")
            fh.write(envelope.original_content or envelope.content)
        self.sink.report_later(envelope)
        return "250 Message accepted"


class _Accounts:
    """AUTH LOGIN/PLAIN against ``{address: password}``."""

    def __init__(self, accounts):
        self.accounts = accounts

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            return AuthResult(success=self.accounts.get(login) == password, handled=False, auth_data=auth_data)
        return AuthResult(success=False, handled=False)


class SmtpSink:
    """Two doors to one store: ``port`` for Dovecot's relay (no AUTH offered: a relay
    would then add an ``AUTH=`` parameter to MAIL FROM, which aiosmtpd refuses), and
    ``submission_port`` for clients that sign in with one of ``accounts``."""

    def __init__(self, folder, port=0, accounts=None, deliver=None, bounce_delay=0.2):
        self.folder = folder
        self.accounts = dict(accounts or {})
        os.makedirs(folder, exist_ok=True)
        self.port = port
        self.submission_port = None
        self.controllers = []
        self.deliver = deliver  # (address, raw bytes) -> None: into the sender's mailbox
        self.bounce_delay = bounce_delay
        self.timers = []
        self.reports = 0
        self.lock = threading.Lock()

    def report_later(self, envelope):
        """Schedule the delivery reports ``envelope`` calls for (``gone@``, ``full@``)."""
        if not envelope.mail_from or envelope.mail_from == "<>":
            return  # a notification itself: never reported on (no loop of bounces)
        by_action = {}
        for address in envelope.rcpt_tos:
            later = LATER.get(address.lower().partition("@")[0])
            if later:
                action, code, text = later
                by_action.setdefault(action, []).append((address, code, text.format(address=address)))
        original = envelope.original_content or envelope.content
        for action, recipients in by_action.items():
            raw = delivery_report(original, envelope.mail_from, recipients, action)
            timer = threading.Timer(self.bounce_delay, self._report, (envelope.mail_from, raw))
            timer.daemon = True
            with self.lock:
                self.timers = [t for t in self.timers if t.is_alive()]
                self.timers.append(timer)
            timer.start()

    def _report(self, sender, raw):
        with self.lock:
            self.reports += 1
            path = os.path.join(self.folder, f"dsn-{self.reports:06d}.eml")
        with open(path, "wb") as fh:
            fh.write(raw)
        if self.deliver is None:
            return
        try:
            self.deliver(sender, raw)
        except Exception:  # a test server: say it and go on, as an MTA whose report bounced
            _logger.exception("the delivery report to %s could not be delivered", sender)

    def start(self):
        from .util import free_port

        self.port = self.port or free_port()
        self.submission_port = free_port()
        keep = _Keep(self.folder, self)
        self.controllers = [
            Controller(keep, hostname="127.0.0.1", port=self.port),
            Controller(
                keep,
                hostname="127.0.0.1",
                port=self.submission_port,
                authenticator=_Accounts(self.accounts),
                auth_require_tls=False,
            ),
        ]
        for controller in self.controllers:
            controller.start()
        return self

    def stop(self):
        for controller in self.controllers:
            controller.stop()
        self.controllers = []
        with self.lock:
            timers, self.timers = self.timers, []
        for timer in timers:  # the reports on their way are delivered first
            timer.join(35)
