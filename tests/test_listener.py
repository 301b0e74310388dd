"""The listener as it runs: ``odoo-bin mailbox-listen`` in real Odoo processes on the test
database (committed data, removed afterwards) and the local Dovecot.

* a message appended to a held mailbox's Inbox is in Odoo within seconds, with no cron
  run by the test and no poll (the mailbox's next poll is far off);
* two listeners never hold the same mailbox (advisory locks); the one killed (SIGKILL)
  hands its mailboxes to the other within a minute, which syncs the next message;
* a disabled mailbox leaves the listener.
"""

import secrets
import signal
import subprocess
import sys
import time
from datetime import timedelta

from imapclient import IMAPClient

from odoo import fields
from odoo.tests import TransactionCase, tagged
from odoo.tools import config

from ..devstack.tcp_proxy import Proxy
from ..devstack.testkit import connect_oauth, set_account_password, stack_parameters
from ..models.mail_mailbox_listen import LOCK_CLASS
from .common import OdooProcessesMixin, StackMixin, configure_stack, custom_mailbox_values, flip

CAROL = "carol@mail.test"
DEADLINE = 150  # seconds a test waits for what it expects (a scan each minute, two Odoo starts)


def listen_command(dbname):
    return [
        sys.executable,
        "-m",
        "odoo",
        f"--addons-path={config['addons_path']}",
        "mailbox-listen",
        "-c",
        config.rcfile,
        "-d",
        dbname,
        "--log-level=warn",
    ]


class ListenerMixin(StackMixin, OdooProcessesMixin):
    """The mailboxes, the Inbox, the listeners' locks and the command, for the test
    classes of the listener (a mixin: the tests of one class do not run in another)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._require_stack()

    def setUp(self):
        super().setUp()
        self.imap = IMAPClient(self.stack["host"], port=self.stack["imap_port"], ssl=False, timeout=10)
        self.imap.login(CAROL, self.stack["accounts"][CAROL])
        self.ids, self.processes = [], []
        with self.committed() as env:
            params = env["ir.config_parameter"]
            self.before = {key: params.get_param(key) for key in stack_parameters(self.stack)}
            configure_stack(env, self.stack)
        self.addCleanup(self.cleanup)

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
        self.imap.logout()

    # -- helpers -------------------------------------------------------------------------
    def mailboxes(self, count, **values):
        """Connected mailboxes on Carol's account, Inbox ticked, synced by polling only
        in an hour (what comes sooner came through the listener)."""
        tag = secrets.token_hex(3)
        with self.committed() as env:
            boxes = env["mail.mailbox"]
            for n in range(count):
                address = f"listen-{tag}-{n}@custom.test"
                box = env["mail.mailbox"].create(
                    {
                        **custom_mailbox_values(self.stack, address, login=CAROL, **values),
                        "password": self.stack["accounts"][CAROL],
                    }
                )
                box._set_state("connected")
                env["mail.mailbox.folder"].create(
                    {"mailbox_id": box.id, "path": "INBOX", "name": "Inbox", "selected": True}
                )
                box._ensure_sync_rows()
                env["mail.mailbox.sync"].search([("mailbox_id", "=", box.id)]).write(
                    {"next_sync_at": fields.Datetime.now() + timedelta(hours=1)}
                )
                boxes |= box
            self.ids += boxes.ids
            return boxes.ids

    def listener(self):
        process = subprocess.Popen(
            listen_command(self.env.cr.dbname), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self.processes.append(process)
        return process

    def holders(self, ids):
        """``{mailbox id: OS process id of the listener holding it}`` (from its advisory lock)."""
        with self.committed() as env:
            env.cr.execute(
                "SELECT l.objid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = ANY(%s)",
                [LOCK_CLASS, list(ids)],
            )
            return {objid: int(name.rsplit("-", 1)[-1]) for objid, name in env.cr.fetchall()}

    def wait_until(self, condition, what, process=None):
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            found = condition()
            if found:
                return found
            if process is not None and process.poll() is not None:
                self.fail(f"the listener ended ({process.returncode}): {process.stderr.read()[-2000:]}")
            time.sleep(0.2)
        self.fail(f"never came: {what}")

    def append(self):
        message_id = f"<{secrets.token_hex(8)}@customer.test>"
        raw = f"From: lead@customer.test\r\nTo: {CAROL}\r\nSubject: New mail\r\nMessage-ID: {message_id}\r\n\r\nHi\r\n"
        self.imap.append("INBOX", raw.encode())
        return message_id

    def synced(self, ids, message_id):
        """The mailboxes of ``ids`` that have the message in Odoo."""
        with self.committed() as env:
            found = env["mail.mailbox.message"].search(
                [("mailbox_id", "in", list(ids)), ("message_id_header", "=", message_id)]
            )
            return set(found.mapped("mailbox_id").ids)

    # -- tests ---------------------------------------------------------------------------
    def tried_locks(self, pid):
        with self.committed() as env:
            env.cr.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND state = 'idle' "
                "AND query LIKE %s",
                [f"odoo-{pid}", "%pg_try_advisory_lock%"],
            )
            return env.cr.fetchone()[0] > 0


@tagged("post_install", "-at_install")
class TestListener(ListenerMixin, TransactionCase):
    def test_new_mail_is_in_odoo_at_once_and_a_disabled_mailbox_leaves(self):
        ids = self.mailboxes(2)
        process = self.listener()
        self.wait_until(lambda: set(self.holders(ids)) == set(ids), "the listener holds both mailboxes", process)
        self.assertEqual(set(self.holders(ids).values()), {process.pid})
        message_id = self.append()
        self.wait_until(lambda: self.synced(ids, message_id) == set(ids), "the new message in Odoo", process)
        with self.committed() as env:
            env["mail.mailbox"].browse(ids[0])._set_state("disabled")
        self.wait_until(lambda: set(self.holders(ids)) == {ids[1]}, "the disabled mailbox left", process)
        message_id = self.append()
        self.wait_until(lambda: self.synced(ids, message_id) == {ids[1]}, "the next message in Odoo", process)
        self.assertEqual(self.synced(ids, message_id), {ids[1]})  # the disabled one is not synced

    def test_two_listeners_never_hold_one_mailbox_and_the_survivor_takes_over(self):
        ids = self.mailboxes(3)
        first = self.listener()
        self.wait_until(lambda: set(self.holders(ids)) == set(ids), "the first listener holds them", first)
        second = self.listener()
        # the second one scanned: it tried to take the mailboxes (its lock connection says so)
        self.wait_until(lambda: self.tried_locks(second.pid), "the second listener scanned", second)
        self.assertEqual(set(self.holders(ids).values()), {first.pid})  # none taken from the first
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        self.wait_until(
            lambda: set(self.holders(ids)) == set(ids) and set(self.holders(ids).values()) == {second.pid},
            "the second listener took them over",
            second,
        )
        message_id = self.append()
        self.wait_until(lambda: self.synced(ids, message_id) == set(ids), "the new message in Odoo", second)

    def test_a_password_refused_when_the_listener_signs_in_again_turns_the_mailbox_to_access_lost(self):
        with Proxy(self.stack["imap_port"]) as proxy:
            (box_id,) = self.mailboxes(1, imap_port=proxy.port)
            process = self.listener()
            self.wait_until(lambda: self.holders([box_id]), "the listener holds the mailbox", process)
            self.wait_until(lambda: proxy.connections, "the listener connected", process)
            previous = set_account_password(self.stack, CAROL, "changed-" + secrets.token_hex(4))
            self.addCleanup(set_account_password, self.stack, CAROL, previous)
            proxy.drop_all()  # the provider ends the session; the listener signs in again, refused

            def state():
                with self.committed() as env:
                    box = env["mail.mailbox"].browse(box_id)
                    return box.state == "auth_lost" and (box.last_error_cause, box.email)

            cause, address = self.wait_until(state, "the mailbox in Access lost", process)
            self.assertIn(address, cause)
            self.wait_until(lambda: not self.holders([box_id]), "the mailbox left the listener", process)

    def test_a_token_revoked_under_an_idle_connection_turns_the_mailbox_to_access_lost(self):
        address = f"listen-{secrets.token_hex(3)}@gmail.test"
        self.addCleanup(flip, self.stack, "reset")
        with Proxy(self.stack["imap_port"]) as proxy:
            with self.committed() as env:
                env["ir.config_parameter"].set_param(
                    "mail_connected_mailbox.google_imap", f"127.0.0.1:{proxy.port}:none"
                )
                box_id = connect_oauth(env, self.stack, "google", address, list_folders=False).id
            self.ids.append(box_id)
            process = self.listener()
            self.wait_until(lambda: self.holders([box_id]), "the listener holds the mailbox", process)
            self.wait_until(lambda: proxy.connections, "the listener signed in with the token", process)
            flip(self.stack, "revoke", email=address)
            proxy.drop_all()  # Google ends the session; the listener signs in again, refused

            def told():
                with self.committed() as env:
                    return env["mail.mailbox"].browse(box_id).last_error_cause

            cause = self.wait_until(told, "the refusal on the mailbox", process)
            self.assertIn(address, cause)
            with self.committed() as env:  # the status owner's check (due now) tells revoked from expired
                box = env["mail.mailbox"].browse(box_id)
                self.assertLessEqual(box.next_check_at, fields.Datetime.now() + timedelta(seconds=60))
                box._check_health()
                self.assertEqual(box.state, "auth_lost")
            self.wait_until(lambda: not self.holders([box_id]), "the mailbox left the listener", process)
