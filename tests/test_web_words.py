"""What the screens say and offer, in Chromium: units in Settings, the few buttons of a
connected mailbox (one primary) and its More menu, a paused campaign (only Resume), a
wrong new password refused on Save at once (against the real Dovecot account)."""

from odoo.tests import HttpCase, tagged

from .common import StackHttpMixin

ALICE = "alice@mail.test"


@tagged("post_install", "-at_install")
class TestWebWords(StackHttpMixin, HttpCase):
    def connected_mailbox(self):
        mailbox = self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(ALICE))
        mailbox.with_user(self.user_ann).action_connect()
        self.assertEqual(mailbox.state, "connected")
        return mailbox

    def open_mailbox(self, mailbox, tour):
        self.start_tour(
            f"/odoo/action-mail_connected_mailbox.mail_mailbox_action/{mailbox.id}", tour, login=self.user_ann.login
        )

    def test_settings_show_units_and_whole_redirect_uris(self):
        self.start_tour("/odoo/settings", "mail_connected_mailbox_tour_words_settings", login=self.user_ada.login)

    def test_connected_mailbox_header_disable_and_archive_words(self):
        mailbox = self.connected_mailbox()
        self.open_mailbox(mailbox, "mail_connected_mailbox_tour_words_header")
        self.assertEqual(mailbox.state, "disabled")  # Disable sync, from the More menu, confirmed
        self.assertTrue(mailbox.active)  # archiving was cancelled
        bodies = [str(body) for body in mailbox.message_ids.mapped("body")]
        self.assertTrue(any("mail sent through it is held" in body for body in bodies), bodies)

    def test_wrong_new_password_is_refused_on_save(self):
        mailbox = self.connected_mailbox()
        good = mailbox._get_secret("password")
        self.open_mailbox(mailbox, "mail_connected_mailbox_tour_words_wrong_password")
        mailbox.invalidate_recordset()
        self.assertEqual(mailbox.state, "connected")
        self.assertEqual(mailbox._get_secret("password"), good)
        self.assertFalse(mailbox._get_secret("password_new"))

    def test_paused_campaign_offers_only_resume(self):
        self.user_ada.groups_id += self.env.ref("mass_mailing.group_mass_mailing_user")
        mailbox = self.connected_mailbox()
        contacts = self.env["mailing.contact"].create({"name": "Lead", "email": "lead@customer.test"})
        campaign = self.env["mailing.mailing"].create(
            {
                "subject": "Autumn offer",
                "body_html": "<p>Offer</p>",
                "email_from": ALICE,
                "mailing_model_id": self.env.ref("mass_mailing.model_mailing_list").id,
                "contact_list_ids": [(0, 0, {"name": "Leads", "contact_ids": contacts.ids})],
                "state": "in_queue",
            }
        )
        mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})
        mailbox.with_user(self.user_ann).action_check_now()  # the loss pauses the campaign
        self.assertEqual((mailbox.state, campaign.state), ("auth_lost", "paused"))
        self.start_tour(
            f"/odoo/action-mass_mailing.mailing_mailing_action_mail/{campaign.id}",
            "mail_connected_mailbox_tour_words_paused_mailing",
            login=self.user_ada.login,
        )
        self.assertEqual(campaign.state, "paused")

    def test_health_board_shows_the_fix_and_whole_addresses(self):
        self.user_ada.groups_id += self.env.ref("mail_connected_mailbox.mail_connected_mailbox_group_admin")
        mailbox = self.connected_mailbox()
        mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})
        mailbox.with_user(self.user_ann).action_check_now()
        self.assertEqual(mailbox.state, "auth_lost")
        self.start_tour(
            "/odoo/action-mail_connected_mailbox.mail_mailbox_action_health",
            "mail_connected_mailbox_tour_words_health_board",
            login=self.user_ada.login,
        )

    def test_the_link_page_names_the_company_and_the_time_zone(self):
        self.user_ada.groups_id += self.env.ref("mail_connected_mailbox.mail_connected_mailbox_group_admin")
        self.user_ann.tz = "Europe/Brussels"
        self.env.company.name = "Brussels Sprouts SA"
        mailbox = self.connected_mailbox()
        _link, url = self.env["mail.mailbox.reconnect.link"].with_user(self.user_ada)._make(mailbox)
        page = self.url_open(url)
        self.assertEqual(page.status_code, 200)
        self.assertIn("Brussels Sprouts SA", page.text)
        self.assertRegex(page.text, r"expires on\s+[^<]*\d:\d\d[^<]*\(Europe/Brussels time\)")
