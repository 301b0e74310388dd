"""A status that tells the truth, and a form that follows what a newcomer types."""

import contextlib
import socket
import threading

from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import MailboxCase, StackMixin

ALICE = "alice@mail.test"


@tagged("post_install", "-at_install")
class TestStatusTruth(StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def new_mailbox(self, address=ALICE, **values):
        return self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(address, **values))

    # ------------------------------------------------------------------ the form
    def test_name_and_login_follow_the_address(self):
        form = Form(self.env["mail.mailbox"].with_user(self.user_ann))
        self.assertEqual(form.name, "New mailbox")  # named after its address once it has one
        form.provider = "google"
        self.assertEqual(form.name, "New mailbox")
        form.email = "first@gmail.test"
        self.assertEqual((form.name, form.login), ("first@gmail.test", "first@gmail.test"))
        form.email = "second@gmail.test"
        self.assertEqual((form.name, form.login), ("second@gmail.test", "second@gmail.test"))
        form.name = "Work mail"
        form.email = "third@gmail.test"
        self.assertEqual(form.name, "Work mail")  # a name of the user's own is kept

    def test_choosing_the_kind_keeps_the_provider_ports(self):
        form = Form(self.env["mail.mailbox"].with_user(self.user_ann))
        form.provider = "microsoft"
        # the demo's servers (a port that is not a usual one) survive the security onchange
        self.assertEqual((form.imap_port, form.imap_security), (self.stack["imap_port"], "none"))
        form.provider = "imap"
        form.imap_security = "ssl"
        form.imap_port = 143
        form.imap_security = "starttls"
        self.assertEqual(form.imap_port, 143)
        form.imap_security = "ssl"
        self.assertEqual(form.imap_port, 993)

    # ------------------------------------------------------------------ checks apply
    def test_a_failed_check_of_stored_credentials_changes_the_status(self):
        mailbox = self.new_mailbox()
        mailbox.action_connect()
        self.assertEqual(mailbox.state, "connected")
        mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})
        action = mailbox.with_user(self.user_ann).action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertEqual(action["params"]["next"]["type"], "ir.actions.act_window_close")  # the form reloads
        self.assertEqual(mailbox.state, "auth_lost")
        self.assertIn("refused the login or password", mailbox.last_error_cause)
        self.assertIn("Reconnect", mailbox.last_error_fix)
        self.assertIn("✘ IMAP Login", mailbox.last_check_report)

    def test_a_reconnect_with_a_wrong_new_password_keeps_the_old_one(self):
        mailbox = self.new_mailbox()
        mailbox.action_connect()
        good = mailbox._get_secret("password")
        # refused on Save already (see test_words); one typed on another way is tried by Reconnect
        with self.assertRaisesRegex(UserError, "The new password was refused"):
            mailbox.with_user(self.user_ann).write({"password": "a-typo"})
        mailbox.sudo()._set_secrets({"password_new": "a-typo"})
        action = mailbox.with_user(self.user_ann).action_reconnect()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("Reconnect failed", action["params"]["title"])
        self.assertEqual(mailbox.state, "connected")  # the old password still works
        self.assertEqual(mailbox._get_secret("password"), good)
        self.assertFalse(mailbox._get_secret("password_new"))  # the refused one is not kept
        self.assertIn("refused the login or password", mailbox.last_error_cause)
        self.assertIn("A new password was refused", str(mailbox.message_ids[0].body))
        # the right new password replaces the old one
        mailbox.with_user(self.user_ann).write({"password": good})
        mailbox.with_user(self.user_ann).action_reconnect()
        self.assertEqual((mailbox.state, mailbox.last_error_cause), ("connected", False))

    def test_a_refused_password_is_not_stored_on_a_new_mailbox(self):
        mailbox = self.new_mailbox(password="wrong-password")
        mailbox.action_connect()
        self.assertEqual(mailbox.state, "draft")
        self.assertFalse(mailbox.has_password)
        self.assertIn("then click Connect.", mailbox.last_error_fix)
        with self.assertRaisesRegex(UserError, "Type the mailbox's password"):
            mailbox.action_connect()

    # ------------------------------------------------------------------ archive
    def test_archiving_is_disconnect_keeping_the_data(self):
        mailbox = self.new_mailbox()
        mailbox.action_connect()
        folders = mailbox.folder_ids.ids
        mailbox.with_user(self.user_ann).action_archive()
        self.assertEqual((mailbox.active, mailbox.state), (False, "draft"))
        self.assertFalse(self.env["mail.mailbox.secret"].sudo().search([("mailbox_id", "=", mailbox.id)]))
        self.assertEqual(mailbox.with_context(active_test=False).folder_ids.ids, folders)
        self.assertIn("Archived by Ann Seller", str(mailbox.message_ids[0].body))
        for action in ("action_connect", "action_test_connection", "action_enable", "action_disable"):
            with self.subTest(action=action), self.assertRaisesRegex(UserError, "is archived"):
                getattr(mailbox.with_user(self.user_ann), action)()

    def test_creation_message_says_not_connected(self):
        mailbox = (
            self.env["mail.mailbox"]
            .with_context(mail_create_nolog=False)
            .with_user(self.user_ann)
            .create(self.custom_values(ALICE))
        )
        self.assertIn("not connected yet", str(mailbox.message_ids[-1].body))


@tagged("post_install", "-at_install")
class TestNotAPortScanner(StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].sudo().set_param("mail_connected_mailbox.allow_private_hosts", False)

    def test_private_addresses_are_refused_to_users(self):
        for host in ("127.0.0.1", "localhost", "10.1.2.3", "192.168.0.10", "169.254.169.254", "::1"):
            with self.subTest(host=host):
                mailbox = (
                    self.env["mail.mailbox"]
                    .with_user(self.user_ann)
                    .create(self.custom_values(ALICE, imap_host=host, smtp_host=host))
                )
                with self.assertRaisesRegex(UserError, "private, loopback or link-local.*Settings") as info:
                    mailbox.with_user(self.user_ann).action_test_connection()
                self.assertNotIn("127.0.0.1", str(info.exception) if host == "localhost" else "")
                self.assertFalse(mailbox.last_check_report)  # nothing was tried
                mailbox.unlink()

    def test_administrators_and_the_settings_switch_allow_them(self):
        mailbox = self.env["mail.mailbox"].with_user(self.user_ada).create(self.custom_values(ALICE))
        self.assertEqual(mailbox.with_user(self.user_ada).action_test_connection()["params"]["type"], "success")
        self.env["ir.config_parameter"].sudo().set_param("mail_connected_mailbox.allow_private_hosts", "True")
        mailbox.sudo().user_id = self.user_ann
        self.assertEqual(mailbox.with_user(self.user_ann).action_test_connection()["params"]["type"], "success")

    def test_tests_are_rate_limited_per_user(self):
        self.env["ir.config_parameter"].sudo().set_param("mail_connected_mailbox.allow_private_hosts", "True")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            closed = sock.getsockname()[1]
        mailbox = self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(ALICE, imap_port=closed))
        for _attempt in range(10):
            mailbox.with_user(self.user_ann).action_test_connection()
        with self.assertRaisesRegex(UserError, r"10 connections to mail servers in the last minute.*Wait \d+ seconds?"):
            mailbox.with_user(self.user_ann).action_test_connection()
        # another user is not held back
        other = (
            self.env["mail.mailbox"]
            .with_user(self.user_ben)
            .create(self.custom_values("bob@mail.test", imap_port=closed))
        )
        self.assertEqual(other.with_user(self.user_ben).action_test_connection()["params"]["type"], "danger")

    def test_a_foreign_greeting_is_never_echoed(self):
        self.env["ir.config_parameter"].sudo().set_param("mail_connected_mailbox.allow_private_hosts", "True")
        banner = b"SSH-2.0-OpenSSH_9.2p1 secret-build-tag\r\n"
        server = socket.create_server(("127.0.0.1", 0))
        port = server.getsockname()[1]

        def greet():
            for _n in range(2):
                conn, _addr = server.accept()
                with conn:
                    conn.sendall(banner)
                    conn.settimeout(2)
                    with contextlib.suppress(OSError):
                        conn.recv(1024)

        thread = threading.Thread(target=greet, daemon=True)
        thread.start()
        try:
            mailbox = (
                self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(ALICE, imap_port=port))
            )
            action = mailbox.with_user(self.user_ann).action_test_connection()
        finally:
            server.close()
        self.assertEqual(action["params"]["type"], "danger")
        shown = action["params"]["message"] + mailbox.last_check_report + (mailbox.last_error_cause or "")
        self.assertIn("does not behave like an IMAP server", shown)
        self.assertNotIn("OpenSSH", shown)
        self.assertNotIn("secret-build-tag", shown)
