"""A draft in the real web client (Chromium), against the real Dovecot and SMTP: a reply
closed with the dialog's X is kept (in Odoo and in the server's Drafts), continued from
My mail > Drafts and sent once, with the Message-ID it was kept under."""

from odoo.tests import HttpCase, tagged

from .common import StackHttpMixin, really_sending, received_all
from .test_reply_drafts import DraftsMixin
from .test_web_my_mail import MY_MAIL


@tagged("post_install", "-at_install")
class TestWebReplyDrafts(DraftsMixin, StackHttpMixin, HttpCase):
    def test_a_reply_closed_unsent_is_kept_then_continued_and_sent(self):
        box, _row, message_id = self.incoming("Tour offer")
        with really_sending():
            self.start_tour(MY_MAIL, "mail_connected_mailbox_tour_draft_kept_resumed", login=self.user_ann.login)
        sent = self.env["mail.mailbox.message"].search(
            [("mailbox_id", "=", box.id), ("subject", "=", "Re: Tour offer, revised")]
        )
        self.assertEqual(len(sent), 1)
        out = received_all(self, "Re: Tour offer, revised")
        self.assertEqual(len(out), 1)  # sent once
        self.assertEqual(out[0]["In-Reply-To"], message_id)
        self.assertIn("A draft written in the tour", out[0].as_string())
        self.assertEqual(out[0]["Message-ID"], sent.message_id_header)
        self.assertEqual(self.server_drafts(sent.message_id_header), [])  # gone from the server's Drafts
        self.assertFalse(self.drafts(active_test=False))
