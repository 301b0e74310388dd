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
"""

import logging
import os
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# aiosmtpd's own AUTH code reads an attribute it deprecated, and logs that each time
logging.getLogger("mail.log").addFilter(lambda record: "login_data is deprecated" not in record.getMessage())


class _Keep:
    def __init__(self, folder):
        self.folder = folder
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

    def __init__(self, folder, port=0, accounts=None):
        self.folder = folder
        self.accounts = dict(accounts or {})
        os.makedirs(folder, exist_ok=True)
        self.port = port
        self.submission_port = None
        self.controllers = []

    def start(self):
        from .util import free_port

        self.port = self.port or free_port()
        self.submission_port = free_port()
        keep = _Keep(self.folder)
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
