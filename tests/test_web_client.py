"""The real web client in Chromium: the screens load without errors."""

from odoo.tests import HttpCase, tagged

from .common import MailboxUsersMixin


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
