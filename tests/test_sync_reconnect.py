"""After a reconnect, the mail that came in while access was lost is synced before held
mail leaves, and the mailbox's summary lists it (against the real Dovecot, on Carol's
own Inbox)."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import MailboxCase, StackMixin
from .test_sync import message
from .test_sync_archive import CAROL, CarolsInboxMixin


@tagged("post_install", "-at_install")
class TestCatchUpAfterReconnect(CarolsInboxMixin, StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def test_replies_that_came_in_meanwhile_are_synced_and_listed_before_held_mail_leaves(self):
        self.user_ann.groups_id += self.env.ref("sales_team.group_sale_salesman_all_leads")
        lead = self.env["crm.lead"].create({"name": "Spring deal", "email_from": "lead@customer.test"})
        self.imap.append("INBOX", message("Before the loss", days_ago=3, to=CAROL))
        mailbox = self.mailbox()
        self.sync(mailbox)
        password = mailbox._get_secret("password")
        # the password changes at the server; a check finds it
        mailbox._set_secrets({"password": "changed-at-the-server"})
        mailbox.with_user(self.user_ann).action_test_connection()
        self.assertEqual(mailbox.state, "auth_lost")
        mailbox.state_changed_at = fields.Datetime.now() - timedelta(days=1)  # lost since yesterday
        held = (
            self.env["mail.mail"]
            .with_user(self.user_ann)  # written by the owner
            .sudo()
            .create({"email_from": CAROL, "email_to": "lead@customer.test", "subject": "Offer", "auto_delete": False})
        )
        self.assertTrue(held.mcm_hold_reason)
        # meanwhile, the lead answers, and someone else writes
        self.imap.append("INBOX", message("Re: Offer", to=CAROL))
        self.imap.append("INBOX", message("Newsletter", to=CAROL, sender="news@vendor.test"))
        # reconnect: one sync round first, then the held mail is released, and the summary says both
        mailbox.with_user(self.user_ann).write({"password": password})
        mailbox.with_user(self.user_ann).action_reconnect()
        self.assertEqual(mailbox.state, "connected")
        self.assertFalse(held.mcm_hold_reason)
        (summary,) = [str(b) for b in mailbox.message_ids.mapped("body") if "waiting message" in str(b)]
        self.assertIn("1 waiting message leaves now", summary)
        self.assertIn("While carol@mail.test was out of reach, 2 messages came in", summary)
        self.assertIn("Re: Offer", summary)
        self.assertIn("on Spring deal", summary)  # where the reply was logged
        self.assertIn("Newsletter", summary)
        self.assertNotIn("Before the loss", summary)
        self.assertTrue(lead.message_ids.filtered(lambda m: m.subject == "Re: Offer"))
