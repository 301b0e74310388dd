"""A lead made from a synced message in the real web client (Chromium), the message synced
from the real Dovecot: prefilled, saved, and the message in its chatter."""

import secrets
from email.message import EmailMessage

from odoo.tests import HttpCase, tagged

from .common import StackHttpMixin
from .test_sync import BOB, ServerFoldersMixin
from .test_web_my_mail import MY_MAIL


def prospect_message(subject, text):
    msg = EmailMessage()
    msg["From"] = "Nora New <nora@prospect.test>"
    msg["To"] = BOB
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{secrets.token_hex(8)}@prospect.test>"
    msg.set_content(text)
    return msg.as_bytes()


@tagged("post_install", "-at_install")
class TestWebQuickActions(ServerFoldersMixin, StackHttpMixin, HttpCase):
    def test_a_lead_made_from_a_message_is_prefilled_and_has_the_message(self):
        self.user_ann.groups_id += self.env.ref("sales_team.group_sale_salesman_all_leads")
        path = self.folder((prospect_message("Seats for the spring fair", "We need forty seats, by May."), 0))
        box = self.mailbox(path)
        box.log_mode = "none"  # the mailbox logs nothing by itself: the quick action does
        self.sync(box)
        synced = self.env["mail.mailbox.message"].search([("mailbox_id", "=", box.id)])
        self.assertEqual(synced.subject, "Seats for the spring fair")
        self.start_tour(MY_MAIL, "mail_connected_mailbox_tour_quick_lead", login=self.user_ann.login)
        lead = self.env["crm.lead"].search([("name", "=", "Seats for the spring fair")])
        self.assertEqual(len(lead), 1)
        self.assertEqual(
            (lead.email_from, lead.contact_name, lead.user_id), ("nora@prospect.test", "Nora New", self.user_ann)
        )
        (copy,) = lead.message_ids.filtered(lambda m: m.mcm_message_id)
        self.assertEqual(copy.mcm_message_id, synced)
        self.assertIn("forty seats", str(copy.body))
