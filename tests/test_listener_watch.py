"""The listener as it runs (``odoo-bin mailbox-listen``, real Odoo processes on the test
database). On a Google mailbox whose tokens live 30 seconds (the OAuth emulator's
``lifetime``), behind a proxy in front of the local Dovecot (which offers NOTIFY):

* the listener renews the token before it expires and makes the connection again with
  it, the old one closed after; a connection made again once the first tokens expired
  signs in (with a renewed token), the mailbox stays connected;
* mail sent from another mail app (appended to Sent) is in Odoo within seconds, with no
  cron run by the test and no poll, on the Inbox's one connection (NOTIFY).

Mailboxes of one account (server and login) are all held by the listener that holds the
first one: a second listener takes none of them (the account's budget holds).
"""

import secrets
import signal
import subprocess
import time
from datetime import timedelta

from imapclient import IMAPClient

from odoo import fields
from odoo.tests import TransactionCase, tagged

from ..devstack.tcp_proxy import Proxy
from ..devstack.testkit import connect_oauth, stack_parameters
from . import test_listener as listener_tests
from .common import OdooProcessesMixin, StackMixin, configure_stack, flip

DEADLINE = 150  # seconds a test waits for what it expects (a scan each minute, an Odoo start)
LIFETIME = 30  # seconds an access token lives here


@tagged("post_install", "-at_install")
class TestListenerWatch(StackMixin, OdooProcessesMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._require_stack()

    def setUp(self):
        super().setUp()
        self.ids, self.processes = [], []
        with self.committed() as env:
            params = env["ir.config_parameter"]
            self.before = {key: params.get_param(key) for key in stack_parameters(self.stack)}
            configure_stack(env, self.stack)
        self.addCleanup(self.cleanup)
        self.addCleanup(flip, self.stack, "reset")

    def cleanup(self):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        with self.committed() as env:
            env["mail.mailbox"].with_context(active_test=False).browse(self.ids).unlink()
            for key, value in self.before.items():
                env["ir.config_parameter"].set_param(key, value or False)

    def wait_until(self, condition, what, process):
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            found = condition()
            if found:
                return found
            if process.poll() is not None:
                self.fail(f"the listener ended ({process.returncode}): {process.stderr.read()[-2000:]}")
            time.sleep(0.2)
        self.fail(f"never came: {what}")

    def mailbox(self, box_id):
        with self.committed() as env:
            box = env["mail.mailbox"].browse(box_id)
            return box.state, box.last_error_cause, box.sudo().token_expires_at

    def append_sent(self, box_id, address):
        """Mail sent from another mail app: its copy appended to Sent (signed in with a
        token of the mailbox's grant, not stored: the listener's credentials stay)."""
        with self.committed() as env:
            box = env["mail.mailbox"].browse(box_id)
            token = box._oauth_client().refresh(box._get_secret("refresh_token"), address).access_token
        message_id = f"<{secrets.token_hex(8)}@phone.test>"
        raw = f"From: {address}\r\nTo: lead@customer.test\r\nSubject: Sent\r\nMessage-ID: {message_id}\r\n\r\nHi"
        with IMAPClient(self.stack["host"], port=self.stack["imap_port"], ssl=False, timeout=10) as client:
            client.oauth2_login(address, token)
            client.append("Sent", raw.encode())
        return message_id

    def synced(self, box_id, message_id):
        with self.committed() as env:
            return env["mail.mailbox.message"].search_count(
                [("mailbox_id", "=", box_id), ("message_id_header", "=", message_id)]
            )

    def test_tokens_are_renewed_under_the_listener_and_mail_sent_elsewhere_is_in_odoo_at_once(self):
        address = f"listen-{secrets.token_hex(3)}@gmail.test"
        flip(self.stack, "lifetime", seconds=LIFETIME)
        with Proxy(self.stack["imap_port"]) as proxy:
            with self.committed() as env:
                env["ir.config_parameter"].set_param(
                    "mail_connected_mailbox.google_imap", f"127.0.0.1:{proxy.port}:none"
                )
                box = connect_oauth(env, self.stack, "google", address)  # its folders listed
                sent = box.folder_ids.filtered(lambda f: f.use == "\\Sent")
                self.assertTrue(sent.selected and box.log_mode == "known")  # mail sent elsewhere is logged
                box._ensure_sync_rows()
                env["mail.mailbox.sync"].search([("mailbox_id", "=", box.id)]).write(
                    {"next_sync_at": fields.Datetime.now() + timedelta(hours=1)}  # no poll meanwhile
                )
                box_id = box.id
            self.ids.append(box_id)
            watching = []  # connections in IDLE, in order (the listener's: a sync never idles)
            asked = set()  # the commands sent

            def watch(line, conn):
                command = line.rstrip(b"\r\n").split(b" ")[1:2]
                asked.update(word.upper() for word in command)
                if command and command[0].upper() == b"IDLE":
                    watching.append(conn["number"])

            proxy.watch(watch)
            process = subprocess.Popen(
                listener_tests.listen_command(self.env.cr.dbname),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            self.processes.append(process)
            self.wait_until(lambda: watching, "the listener waits in IDLE", process)
            first = self.mailbox(box_id)[2]
            # renewed before it expires: another connection waits in IDLE, with no drop
            self.wait_until(lambda: len(set(watching)) > 1, "the connection made again with a renewed token", process)
            state, cause, renewed = self.mailbox(box_id)
            self.assertGreater(renewed, first)
            self.assertEqual((state, cause), ("connected", False))
            # every token the listener signed in with before has expired: made again, it signs in
            time.sleep(LIFETIME + 1)
            before = len(set(watching))
            proxy.drop_all()
            self.wait_until(lambda: len(set(watching)) > before, "the listener waits in IDLE again", process)
            # tokens of an hour again: once renewed, the listener's connection stays as it is
            flip(self.stack, "lifetime", seconds=3600)
            later = fields.Datetime.now() + timedelta(minutes=30)
            before = len(set(watching))
            self.wait_until(lambda: self.mailbox(box_id)[2] > later, "a token of an hour", process)
            self.wait_until(lambda: len(set(watching)) > before, "the connection made again with it", process)
            # mail sent elsewhere: said by the listener (no poll, no renewal to come)
            message_id = self.append_sent(box_id, address)
            self.wait_until(lambda: self.synced(box_id, message_id), "the message sent elsewhere in Odoo", process)
            self.assertEqual(self.mailbox(box_id)[:2], ("connected", False))
            self.assertIn(b"NOTIFY", asked)  # Sent watched on the Inbox's connection

    def test_the_mailboxes_of_one_account_are_held_by_one_listener(self):
        helpers = listener_tests.TestListener
        first_ids = helpers.mailboxes(self, 1)  # on Carol's account
        first = subprocess.Popen(
            listener_tests.listen_command(self.env.cr.dbname),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.processes.append(first)
        self.wait_until(lambda: set(helpers.holders(self, first_ids)) == set(first_ids), "the first holds it", first)
        more = helpers.mailboxes(self, 2)  # the same account, come after the first one's scan
        second = subprocess.Popen(
            listener_tests.listen_command(self.env.cr.dbname),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.processes.append(second)
        self.wait_until(lambda: helpers.tried_locks(self, second.pid), "the second listener scanned", second)
        self.assertNotIn(second.pid, helpers.holders(self, more).values())
        self.wait_until(
            lambda: helpers.holders(self, more) == dict.fromkeys(more, first.pid), "the first one holds them", first
        )
        self.assertEqual(second.poll(), None)
