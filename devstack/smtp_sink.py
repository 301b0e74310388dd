"""An SMTP sink on loopback (aiosmtpd): Dovecot's submission service relays to it.

Every message it receives is kept in memory and written to ``folder/<n>.eml``
so that tests can read what really left. Like a real server, it refuses recipients
that do not exist (any ``nobody@…`` address) with ``550 5.1.1``.
"""

import os
import threading

from aiosmtpd.controller import Controller


class _Keep:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # a mailbox that does not exist, as real servers answer it (tests of refused recipients)
        if address.lower().startswith("nobody@"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            path = os.path.join(self.folder, f"{self.count:06d}.eml")
        with open(path, "wb") as fh:
            fh.write(b"X-Envelope-From: " + envelope.mail_from.encode() + b"\r\n")
            fh.write(b"X-Envelope-To: " + ", ".join(envelope.rcpt_tos).encode() + b"\r\n")
            fh.write(envelope.original_content or envelope.content)
        return "250 Message accepted"


class SmtpSink:
    def __init__(self, folder, port=0):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.port = port
        self.controller = None

    def start(self):
        from .util import free_port

        self.port = self.port or free_port()
        self.controller = Controller(_Keep(self.folder), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None
