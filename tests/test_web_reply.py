"""Reply, Reply all, Forward and New message in the real web client (Chromium), through
the real Dovecot and SMTP: after each tour, the recipient's copy (at the SMTP sink) and
the copy in Sent carry the right headers, and a sync leaves exactly one record."""

import secrets

from odoo.tests import HttpCase, tagged

from ..mailbox_engine.sync.parse import message_digest
from .common import StackHttpMixin, really_sending, received_all
from .test_reply import sent_copy
from .test_sync import BOB, ServerFoldersMixin, message
from .test_web_my_mail import MY_MAIL


@tagged("post_install", "-at_install")
class TestWebReply(ServerFoldersMixin, StackHttpMixin, HttpCase):
    SUBJECTS = ("Unread offer", "With attachment", "Our call")

    def setUp(self):
        super().setUp()
        self.clear_sent()
        self.addCleanup(self.clear_sent)
        token = secrets.token_hex(3)
        self.original_id = f"<offer-{token}@customer.test>"
        self.path = self.folder(
            (
                message(
                    "Unread offer",
                    1,
                    message_id=self.original_id,
                    references="<first@customer.test>",
                    cc="Boss <boss@customer.test>, " + BOB,
                ),
                1,
            ),
            (message("With attachment", 3, attachment=b"%PDF-1.4 offer"), 3),
        )
        self.box = self.mailbox(self.path, "Sent")
        self.sync(self.box)

    def clear_sent(self):
        """Bob's Sent folder without what these tours send (kept by the server between
        tests, it would be synced as another test's row)."""
        self.imap.select_folder("Sent")
        uids = [uid for subject in self.SUBJECTS for uid in self.imap.search(["SUBJECT", subject])]
        if uids:
            self.imap.delete_messages(uids)
            self.imap.expunge()
        self.imap.close_folder()

    def tour(self, name, subject):
        """Run tour ``name`` as Ann; the recipient's copy of ``subject``, checked for what
        every tour must show (From, no Bcc header, one record after a sync of Sent)."""
        before = {sent["Message-ID"] for sent in received_all(self, subject)}  # earlier tests' copies
        with really_sending():
            self.start_tour(MY_MAIL, f"mail_connected_mailbox_tour_{name}", login=self.user_ann.login)
        new = [sent for sent in received_all(self, subject) if sent["Message-ID"] not in before]
        self.assertEqual(len(new), 1)
        out = new[0]
        self.assertIn(BOB, out["From"])
        self.assertIsNone(out["Bcc"])
        copy = sent_copy(self.box, subject)
        self.assertIsNone(copy["Bcc"])
        self.assertEqual(copy["Message-ID"], out["Message-ID"])
        self.sync(self.box)
        rows = (
            self.env["mail.mailbox.message"]
            .with_context(active_test=False)
            .search([("mailbox_id", "=", self.box.id), ("message_key", "=", message_digest(out["Message-ID"]))])
        )
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows.folder_names, "Sent")
        return out, copy

    def test_reply(self):
        out, copy = self.tour("reply", "Re: Unread offer")
        for sent in (out, copy):
            self.assertEqual(sent["In-Reply-To"], self.original_id)
            self.assertEqual(sent["References"].split(), ["<first@customer.test>", self.original_id])
        self.assertIn("lead@customer.test", out["To"])
        self.assertIsNone(out["Cc"])
        html = next(part for part in out.walk() if part.get_content_type() == "text/html")
        self.assertIn("Thanks, the offer suits us.", html.get_payload(decode=True).decode())

    def test_reply_all(self):
        out, copy = self.tour("reply_all", "Re: Unread offer")
        self.assertEqual(out["In-Reply-To"], self.original_id)
        self.assertIn("lead@customer.test", out["To"])
        self.assertIn("boss@customer.test", out["Cc"])
        self.assertNotIn(BOB, out["To"] + out["Cc"])
        self.assertIn("hidden@customer.test", out["X-Envelope-To"])  # Bcc: in the envelope only
        self.assertIsNone(copy["Bcc"])  # in Sent neither: Odoo keeps it on the row, for its owner
        row = self.env["mail.mailbox.message"].search([("message_key", "=", message_digest(out["Message-ID"]))])
        self.assertEqual(row.email_bcc, "hidden@customer.test")

    def test_forward_with_attachment(self):
        out, _copy = self.tour("forward_attachment", "Fwd: With attachment")
        self.assertEqual(out["To"], "colleague@partner.test")
        self.assertIsNone(out["In-Reply-To"])
        parts = {part.get_filename(): part.get_payload(decode=True) for part in out.walk() if part.get_filename()}
        self.assertEqual(parts.get("offer.pdf"), b"%PDF-1.4 offer")

    def test_new_message_with_a_template(self):
        self.env["mail.template"].create(
            {
                "name": "Friendly follow-up",
                "model_id": self.env["ir.model"]._get_id("mail.mailbox.message"),
                "subject": "Follow-up",
                "body_html": "<p>Following up on our call, here is what we agreed.</p>",
            }
        )
        out, _copy = self.tour("new_with_template", "Our call")
        self.assertEqual(out["To"], "lead@customer.test")
        html = next(part for part in out.walk() if part.get_content_type() == "text/html")
        self.assertIn("Following up on our call", html.get_payload(decode=True).decode())
