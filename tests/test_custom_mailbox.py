"""Custom IMAP + SMTP mailboxes against the real local Dovecot: test, connect, lifecycle."""

import socket
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import MailboxCase, StackMixin, captured_logs

ALICE = "alice@mail.test"


@tagged("post_install", "-at_install")
class TestCustomMailbox(StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def new_mailbox(self, address=ALICE, **values):
        return self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(address, **values))

    def message_of(self, action):
        self.assertEqual(action["tag"], "display_notification")
        return action["params"]

    def test_test_connection_succeeds_step_by_step(self):
        mailbox = self.new_mailbox()
        params = self.message_of(mailbox.action_test_connection())
        self.assertEqual(params["type"], "success")
        report = mailbox.last_check_report
        for line in ("✔ IMAP DNS", "✔ IMAP TCP", "✔ IMAP Capabilities", "✔ IMAP Login", "✔ SMTP EHLO", "✔ SMTP AUTH"):
            self.assertIn(line, report)
        self.assertEqual(mailbox.state, "draft")  # testing connects nothing

    def test_connect_lists_folders_and_selects_inbox_sent_and_archive(self):
        mailbox = self.new_mailbox()
        self.user_ann.email = ALICE  # her Odoo mail leaves from it: nothing to warn about
        params = self.message_of(mailbox.action_connect())
        self.assertEqual(params["type"], "success")
        self.assertEqual(mailbox.state, "connected")
        folders = {f.path: f for f in mailbox.folder_ids}
        self.assertEqual(set(folders), {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"})
        self.assertEqual({p for p, f in folders.items() if f.selected}, {"INBOX", "Sent", "Archive"})
        self.assertEqual(folders["Sent"].special_use, "\\Sent")

    def test_each_bad_input_gets_its_own_diagnosis(self):
        with socket.socket() as sock:  # a port nothing listens on
            sock.bind(("127.0.0.1", 0))
            closed_port = sock.getsockname()[1]
        cases = [
            ({"password": "wrong-password"}, "“Login” failed", "refused the login or password"),
            ({"imap_port": closed_port}, "“TCP” failed", f"Nothing answers at 127.0.0.1 on port {closed_port}"),
            (
                {"imap_host": "imap.no-such-host.invalid", "imap_security": "ssl"},
                "“DNS” failed",
                "imap.no-such-host.invalid cannot be found",
            ),
            ({"imap_host": "imap.example.com"}, "“Security” failed", "without encryption"),
            ({"imap_security": "ssl"}, "“TLS” failed", "does not speak SSL/TLS"),
            ({"smtp_security": "ssl"}, "“TLS” failed", "Choose STARTTLS with port 587"),
        ]
        for values, title, text in cases:
            with self.subTest(values=values):
                mailbox = self.new_mailbox(**values)
                params = self.message_of(mailbox.action_connect())
                self.assertEqual(params["type"], "danger")
                self.assertIn(title, params["title"])
                self.assertIn(text, params["message"])
                self.assertNotIn("wrong-password", params["message"] + (mailbox.last_check_report or ""))
                self.assertEqual(mailbox.state, "draft")
                self.assertFalse(mailbox.folder_ids)
                mailbox.unlink()

    def test_connect_without_password_says_so(self):
        mailbox = self.new_mailbox(password=False)
        with self.assertRaisesRegex(UserError, "password"):
            mailbox.action_connect()

    def test_reconnect_keeps_record_folders_and_sync_state(self):
        mailbox = self.new_mailbox()
        mailbox.action_connect()
        folders = {f.path: f for f in mailbox.folder_ids}
        folders["Sent"].selected = False
        folders["Archive"].selected = True
        while mailbox._claim_sync(ids=mailbox.ids, limit=1)._sync_round():  # synced before the loss
            pass
        synced = dict(folders["INBOX"].sync_state)
        record_id, folder_ids = mailbox.id, mailbox.folder_ids.ids
        # the password changes at the server side: the check finds the loss of access
        mailbox.sudo()._set_secrets({"password": "an-old-password"})
        self.assertEqual(mailbox._check_mailbox_access().kind, "password")
        self.assertEqual(mailbox.state, "auth_lost")
        self.assertIn("refused the login or password", mailbox.last_error_cause)
        # the user types the current password and reconnects, in place
        mailbox.with_user(self.user_ann).write({"password": self.stack["accounts"][ALICE]})
        mailbox.with_user(self.user_ann).action_reconnect()
        self.assertEqual((mailbox.id, mailbox.state), (record_id, "connected"))
        self.assertEqual(mailbox.folder_ids.ids, folder_ids)
        selected = {f.path for f in mailbox.folder_ids if f.selected}
        self.assertEqual(selected, {"INBOX", "Archive"})
        inbox = mailbox.folder_ids.filtered(lambda f: f.path == "INBOX")
        # the catch-up round after the reconnect went on from the saved state: no new backfill
        self.assertEqual(inbox.sync_state["uidvalidity"], synced["uidvalidity"])
        self.assertEqual((inbox.sync_state["resets_in_row"], inbox.sync_state["backfill_below"]), (0, 0))
        self.assertFalse(mailbox.last_error_cause)

    def test_disable_keeps_everything_and_enable_refetches_the_backfill_window(self):
        mailbox = self.new_mailbox()
        mailbox.action_connect()
        folder_ids = mailbox.folder_ids.ids
        mailbox.with_user(self.user_ann).action_disable()
        self.assertEqual(mailbox.state, "disabled")
        self.assertTrue(mailbox.has_password)
        self.assertEqual(mailbox.folder_ids.ids, folder_ids)
        mailbox.with_user(self.user_ann).action_enable()
        self.assertEqual(mailbox.state, "connected")
        expected = fields.Datetime.now() - timedelta(days=60)
        self.assertLess(abs((mailbox.resync_since - expected).total_seconds()), 120)

    def test_enable_with_a_broken_password_says_why(self):
        mailbox = self.new_mailbox()
        mailbox.action_connect()
        mailbox.action_disable()
        mailbox.sudo()._set_secrets({"password": "changed-elsewhere"})
        params = self.message_of(mailbox.with_user(self.user_ann).action_enable())
        self.assertEqual(params["type"], "danger")
        self.assertIn("refused the login or password", params["message"])
        self.assertEqual(mailbox.state, "disabled")

    def test_disconnect_keep_or_delete(self):
        for choice, folders_left in (("keep", 6), ("delete", 0)):
            with self.subTest(choice=choice):
                address = "bob@mail.test" if choice == "keep" else "carol@mail.test"
                mailbox = self.new_mailbox(address, login=address)
                mailbox.action_connect()
                wizard = (
                    self.env["mail.mailbox.disconnect.wizard"]
                    .with_user(self.user_ann)
                    .create({"mailbox_id": mailbox.id, "synced_data": choice})
                )
                wizard.action_confirm()
                self.assertFalse(mailbox.active)
                self.assertEqual(mailbox.state, "draft")
                self.assertFalse(mailbox.has_password)
                self.assertFalse(self.env["mail.mailbox.secret"].sudo().search([("mailbox_id", "=", mailbox.id)]))
                self.assertEqual(len(mailbox.with_context(active_test=False).folder_ids), folders_left)

    def test_no_password_in_logs(self):
        real = self.stack["accounts"][ALICE]
        with captured_logs() as lines:
            mailbox = self.new_mailbox(password="Wrong-Secret-123")
            mailbox.action_connect()
            mailbox.with_user(self.user_ann).write({"password": real})
            mailbox.action_connect()
            mailbox.action_test_connection()
        self.assertEqual(mailbox.state, "connected")
        self.assertTrue(lines)
        text = "\n".join(lines)
        self.assertNotIn("Wrong-Secret-123", text)
        self.assertNotIn(real, text)
