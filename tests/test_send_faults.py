"""Sending under faults, with real processes: the queue runs in a real Odoo process
(``odoo shell``, as the cron does: committing after each mail) and sends queued mail
through a custom mailbox whose SMTP server is Dovecot's submission behind the stack's
TCP proxy. In the middle of the third message the process is killed, the connection is
cut, or Dovecot restarts; or the process is killed once the server confirmed the
message, before Odoo heard it. Then only the queue's next runs, with no help:

* each mail reaches each of its recipients exactly once;
* or, where Odoo cannot know whether the server accepted it (it stopped while sending
  it), it fails with a reason that says so and what to do, is never sent a second
  time, and the mailbox says it.
"""

import collections
import email
import glob
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from odoo.tests import TransactionCase, tagged

from ..devstack.dovecot import Dovecot
from ..devstack.tcp_proxy import Proxy
from ..devstack.testkit import stack_parameters
from .common import OdooProcessesMixin, StackMixin, configure_stack, custom_mailbox_values, odoo_shell_command

CAROL = "carol@mail.test"
MAILS = 6
FAULT_AT = 3  # the fault strikes in the third message the server is sent
STOPPED = "Odoo stopped while sending this message through"

# the queue as its cron runs it (committing after each mail), at ``minutes`` from now
QUEUE = """
from datetime import datetime, timedelta
from freezegun import freeze_time
for minutes in {minutes}:
    with freeze_time(datetime.utcnow() + timedelta(minutes=minutes), tick=True):
        env["mail.mail"].process_email_queue(ids={ids})
        env.cr.commit()
"""


class Conversation:
    """Follows the SMTP conversations through the proxy: the messages the client sends
    (counted from 1), the subject of each, and the server's answer to its end; calls
    ``on_data(subject)`` on the first header line of the ``FAULT_AT``-th message and
    ``on_confirmed(subject)`` once the server confirmed it (before the client hears it)."""

    def __init__(self, proxy, on_data=None, on_confirmed=None):
        self.on_data, self.on_confirmed = on_data, on_confirmed
        self.count = 0
        self.subject = None
        self.struck = threading.Event()
        self.lock = threading.Lock()
        proxy.watch(self.client_line)
        proxy.rewrite(self.server_line)

    def client_line(self, line, conn):
        if conn.get("data"):
            if line == b".\r\n":
                conn["data"] = False
                conn["awaiting"] = conn["number_in_all"]
            elif line.lower().startswith(b"subject:") and "subject" not in conn:
                conn["subject"] = line[8:].strip().decode()
                if conn["number_in_all"] == FAULT_AT and self.on_data and not self.struck.is_set():
                    self.subject = conn["subject"]
                    self.struck.set()
                    self.on_data(self.subject)
        elif line.upper() == b"DATA\r\n":
            with self.lock:
                self.count += 1
                conn["number_in_all"] = self.count
            conn["data"] = True
            conn.pop("subject", None)

    def server_line(self, line, conn):
        if conn.get("awaiting") and line[:1] in b"2345":
            number, conn["awaiting"] = conn["awaiting"], None
            if line.startswith(b"250") and number == FAULT_AT and self.on_confirmed and not self.struck.is_set():
                self.subject = conn.get("subject")
                self.struck.set()
                self.on_confirmed(self.subject)
        return line


def kill(process):
    """SIGKILL ``process`` and wait until it is dead (it runs no more code after this)."""
    os.kill(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{process.pid}/stat", encoding="ascii") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.005)
    raise AssertionError("the Odoo process did not die")


@tagged("post_install", "-at_install")
class TestSendFaults(StackMixin, OdooProcessesMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._require_stack()

    def setUp(self):
        super().setUp()
        self.tag = secrets.token_hex(3)
        self.mailbox_ids = []
        with self.committed() as env:
            params = env["ir.config_parameter"]
            before = {key: params.get_param(key) for key in stack_parameters(self.stack)}
            configure_stack(env, self.stack)
        self.addCleanup(self.cleanup, before)

    def cleanup(self, before):
        with self.committed() as env:
            mailboxes = env["mail.mailbox"].with_context(active_test=False).browse(self.mailbox_ids)
            env["mail.mail"].search([("subject", "=like", f"Faults {self.tag} %")]).unlink()
            mailboxes.unlink()
            for key, value in before.items():
                env["ir.config_parameter"].set_param(key, value or False)

    # ------------------------------------------------------------------ helpers
    def proxy(self, port):
        proxy = Proxy(port).start()
        self.addCleanup(proxy.stop)
        return proxy

    def queue_mails(self, smtp_port, imap_port=None):
        """A connected custom mailbox whose SMTP server is ``smtp_port``, and ``MAILS``
        queued mails from it, each to two recipients; their ids."""
        address = f"faults-{self.tag}@custom.test"
        values = custom_mailbox_values(self.stack, address, login=CAROL, smtp_port=smtp_port)
        values.update(password=self.stack["accounts"][CAROL], imap_port=imap_port or self.stack["imap_port"])
        with self.committed() as env:
            mailbox = env["mail.mailbox"].create(values)
            self.mailbox_ids.append(mailbox.id)
            mailbox.action_connect()
            self.assertEqual(mailbox.state, "connected", mailbox.last_error_cause)
            mails = env["mail.mail"].create(
                [
                    {
                        "email_from": address,
                        "email_to": f"lead-{n}-{self.tag}@customer.test, boss-{n}-{self.tag}@customer.test",
                        "subject": f"Faults {self.tag} {n}",
                        "body_html": f"<p>Our offer {n}</p>" + "<p>Details of the offer.</p>" * 40,
                        "auto_delete": False,
                    }
                    for n in range(MAILS)
                ]
            )
            self.mailbox_id = mailbox.id
            return mails.ids

    def run_queue(self, ids, minutes=(0,)):
        """The queue's runs in a real Odoo process, ``minutes`` from now."""
        done = subprocess.run(
            odoo_shell_command(self.env.cr.dbname),
            input=QUEUE.format(ids=ids, minutes=list(minutes)),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        self.assertEqual(done.returncode, 0, done.stderr[-3000:])

    def run_queue_killed(self, ids, conversation):
        """The queue's run in a real Odoo process that the fault kills."""
        victim = subprocess.Popen(
            odoo_shell_command(self.env.cr.dbname),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        conversation.victim = victim
        _out, err = victim.communicate(QUEUE.format(ids=ids, minutes=[0]), timeout=600)
        self.assertTrue(conversation.struck.is_set(), f"the fault never struck: {err[-3000:]}")
        self.assertEqual(victim.returncode, -signal.SIGKILL, err[-3000:])

    def received(self):
        """``{(subject, recipient): copies received}`` of this test's mail at the SMTP sink."""
        copies = collections.Counter()
        for path in glob.glob(os.path.join(self.stack["sink_folder"], "*.eml")):
            with open(path, "rb") as fh:
                message = email.message_from_bytes(fh.read())
            if (message["Subject"] or "").startswith(f"Faults {self.tag} "):
                for recipient in message["X-Envelope-To"].split(","):
                    copies[message["Subject"], recipient.strip()] += 1
        return copies

    def outcome(self, ids):
        """``{subject: (state, failure reason, copies per recipient)}`` once the runs are done."""
        received = self.received()
        result = {}
        with self.committed() as env:
            for mail in env["mail.mail"].browse(ids):
                recipients = [address.strip() for address in mail.email_to.split(",")]
                copies = tuple(received[mail.subject, address] for address in recipients)
                result[mail.subject] = (mail.state, mail.failure_reason or "", copies)
        return result

    def assert_all_once(self, outcome, but=None):
        for subject, (state, reason, copies) in outcome.items():
            if subject != but:
                self.assertEqual((state, copies), ("sent", (1, 1)), f"{subject}: {reason}")

    def assert_mailbox_says_it_stopped(self, subject):
        with self.committed() as env:
            mailbox = env["mail.mailbox"].browse(self.mailbox_id)
            self.assertEqual(mailbox.state, "connected")
            self.assertIn("Odoo stopped while sending 1 message through this mailbox", mailbox.last_error_cause)
            self.assertIn(subject, mailbox.last_error_fix)
            self.assertIn("Retry", mailbox.last_error_fix)
            said = mailbox.message_ids.filtered(lambda message: subject in (message.body or ""))
            self.assertEqual(len(said), 1)

    # ------------------------------------------------------------------ tests
    def test_killed_in_the_middle_of_data_fails_that_mail_with_the_reason_and_sends_the_rest_once(self):
        proxy = self.proxy(self.stack["submission_port"])
        ids = self.queue_mails(proxy.port)

        def strike(_subject):  # killed with part of the message sent: the rest never goes up
            kill(conversation.victim)
            proxy.drop_all()

        conversation = Conversation(proxy, on_data=strike)
        self.run_queue_killed(ids, conversation)
        proxy.clear()
        self.run_queue(ids, minutes=(2, 10))
        outcome = self.outcome(ids)
        # the server never got its end: nobody has it; Odoo cannot know that, so it is
        # not sent again blindly: it failed, with the reason and what to do
        state, reason, copies = outcome[conversation.subject]
        self.assertEqual((state, copies), ("exception", (0, 0)))
        self.assertIn(f"{STOPPED} faults-{self.tag}@custom.test: the server may have accepted it", reason)
        self.assertIn("click Retry to send it again, or Cancel", reason)
        self.assert_all_once(outcome, but=conversation.subject)
        self.assert_mailbox_says_it_stopped(conversation.subject)

    def test_killed_once_the_server_confirmed_never_sends_that_mail_twice(self):
        proxy = self.proxy(self.stack["submission_port"])
        ids = self.queue_mails(proxy.port)
        # the server's 250 after the final dot is on its way; Odoo dies before it commits
        conversation = Conversation(proxy, on_confirmed=lambda _subject: kill(conversation.victim))
        self.run_queue_killed(ids, conversation)
        proxy.clear()
        self.run_queue(ids, minutes=(2, 10))
        outcome = self.outcome(ids)
        state, reason, copies = outcome[conversation.subject]
        self.assertEqual((state, copies), ("exception", (1, 1)))  # once, never twice
        self.assertIn(STOPPED, reason)
        self.assert_all_once(outcome, but=conversation.subject)
        self.assert_mailbox_says_it_stopped(conversation.subject)

    def test_connection_cut_in_the_middle_of_data_sends_each_mail_once(self):
        proxy = self.proxy(self.stack["submission_port"])
        ids = self.queue_mails(proxy.port)
        conversation = Conversation(proxy)
        proxy.cut("up", after=400, pattern=b"data\r\n")  # the first message (smtplib's lowercase command)
        self.run_queue(ids)
        self.assertEqual(proxy.cuts, 1)
        first = self.outcome(ids)
        cut = [subject for subject, (state, _reason, _copies) in first.items() if state == "outgoing"]
        self.assertEqual(len(cut), 1, first)  # Odoo saw the cut: that mail waits for its next try
        self.assertEqual(first[cut[0]][2], (0, 0))
        self.assert_all_once(first, but=cut[0])  # the others left at once, on a fresh connection
        self.run_queue(ids, minutes=(2, 10))
        self.assert_all_once(self.outcome(ids))
        self.assertGreaterEqual(conversation.count, MAILS + 1)
        with self.committed() as env:
            self.assertFalse(env["mail.mailbox"].browse(self.mailbox_id).last_error_cause)

    def test_dovecot_restarted_while_sending_sends_each_mail_once(self):
        folder = tempfile.mkdtemp(prefix="mcm-faults-")
        os.chmod(folder, 0o755)
        self.addCleanup(shutil.rmtree, folder, True)
        dovecot = Dovecot(
            os.path.join(folder, "dovecot"),
            introspection_url=f"{self.stack['google']['url']}/introspect",
            sink_port=self.stack["sink_port"],
            accounts=self.stack["accounts"],
        ).start()
        self.addCleanup(dovecot.stop)
        proxy = self.proxy(dovecot.submission_port)
        ids = self.queue_mails(proxy.port, imap_port=dovecot.imap_port)
        conversation = Conversation(proxy, on_data=lambda _subject: dovecot.restart())
        self.run_queue(ids)
        self.assertTrue(conversation.struck.is_set())
        first = self.outcome(ids)
        state, reason, copies = first[conversation.subject]
        # the server said it shuts down (421): not accepted, tried again; not a limit of the mailbox
        self.assertEqual((state, copies), ("outgoing", (0, 0)), reason)
        with self.committed() as env:
            self.assertEqual(env["mail.mailbox"].browse(self.mailbox_id).state, "connected")
            self.assertFalse(env["mail.mail"].browse(ids).filtered("mcm_hold_reason"))
        proxy.clear()
        self.run_queue(ids, minutes=(2, 10, 30))
        self.assert_all_once(self.outcome(ids))
