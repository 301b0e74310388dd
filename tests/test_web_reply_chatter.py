"""Reply from a lead's chatter in Chromium: on the customer's message logged there,
Reply opens the composer of My mail through the mailbox; what reaches the customer is
threaded under the original, and the reply is logged once on the lead, under it."""

from odoo.tests import HttpCase, tagged

from .common import StackHttpMixin, really_sending, received
from .test_reply import MIDDLE, ROOT, ReplyMixin
from .test_sync import BOB

SUBJECT = "Spring offer"
TYPED = "Thanks, the offer stands until Friday."


@tagged("post_install", "-at_install")
class TestWebReplyChatter(ReplyMixin, StackHttpMixin, HttpCase):
    def test_reply_from_a_logged_copy_in_the_lead_chatter(self):
        box, _row, message_id = self.incoming(SUBJECT)
        original = self.logged(self.lead, SUBJECT)
        self.assertEqual(len(original), 1)
        with really_sending():
            self.start_tour(
                f"/odoo/crm/{self.lead.id}",
                "mail_connected_mailbox_tour_reply_from_lead_chatter",
                login=self.user_ann.login,
            )
        out = received(self, "Re: " + SUBJECT)
        self.assertEqual(out["In-Reply-To"], message_id)
        self.assertEqual(out["References"].split(), [ROOT, MIDDLE, message_id])
        self.assertIn(BOB, out["From"])
        self.assertIn("lead@customer.test", out["To"])
        html = next(part for part in out.walk() if part.get_content_type() == "text/html")
        self.assertIn(TYPED, html.get_payload(decode=True).decode())
        self.env.invalidate_all()
        reply = self.logged(self.lead, "Re: " + SUBJECT)
        self.assertEqual(len(reply), 1)
        self.assertEqual(reply.parent_id, original)
        self.assertIn(TYPED, str(reply.body))
        self.sync(box)
        self.assertEqual(len(self.rows(box, out["Message-ID"])), 1)
        self.assertEqual(len(self.logged(self.lead, "Re: " + SUBJECT)), 1)
