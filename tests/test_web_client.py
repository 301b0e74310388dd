"""The real web client in Chromium: the screens load without errors."""

from odoo.tests import HttpCase, tagged

from .common import MailboxUsersMixin, StackMixin


@tagged("post_install", "-at_install")
class TestWebClient(MailboxUsersMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_users(cls.env)
        cls.env["mail.mailbox"].with_user(cls.user_ann).create(
            {"email": "ann.tour@example.com", "imap_host": "127.0.0.1"}
        )

    def test_user_menu_and_preferences(self):
        self.start_tour("/odoo", "mail_connected_mailbox_tour_user", login=self.user_ann.login)

    def test_admin_settings(self):
        self.start_tour("/odoo/settings", "mail_connected_mailbox_tour_settings", login=self.user_ada.login)


@tagged("post_install", "-at_install")
class TestWebClientConnect(StackMixin, MailboxUsersMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_users(cls.env)
        cls._setup_stack(cls.env)

    def test_user_connects_a_custom_mailbox_from_preferences(self):
        address = "carol@mail.test"
        cookies = {
            "mcm_address": address,
            "mcm_imap_port": str(self.stack["imap_port"]),
            "mcm_smtp_port": str(self.stack["submission_port"]),
            "mcm_password": self.stack["accounts"][address],
        }
        self.start_tour(
            "/odoo", "mail_connected_mailbox_tour_connect_custom", login=self.user_ann.login, cookies=cookies
        )
        mailbox = self.env["mail.mailbox"].search([("email", "=", address)])
        self.assertEqual((mailbox.user_id, mailbox.state), (self.user_ann, "connected"))
        self.assertIn("✔ SMTP AUTH", mailbox.last_check_report)
