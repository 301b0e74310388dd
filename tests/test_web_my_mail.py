"""My mail in the real web client (Chromium), against the real Dovecot: what is on
screen is what the mailbox has, and what is clicked reaches the server."""

from odoo.tests import HttpCase, tagged

from ..mailbox_engine.imap import append_once
from .common import StackHttpMixin
from .test_sync import ServerFoldersMixin, message

MY_MAIL = "/odoo/action-mail_connected_mailbox.mail_mailbox_message_action_my"


@tagged("post_install", "-at_install")
class TestWebMyMail(ServerFoldersMixin, StackHttpMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self.customer = self.env["res.partner"].create({"name": "Customer", "email": "customer@customer.test"})
        posted = self.customer.message_post(
            body="Our offer, in full",
            subject="Offer from Odoo",
            message_type="comment",
            author_id=self.user_ann.partner_id.id,
            partner_ids=self.customer.ids,
        )
        self.path = self.folder(
            (message("Unread offer", 1), 1),
            (message("Read note", 2), 2),
            (message("With attachment", 3, attachment=b"%PDF-1.4 offer"), 3),
        )
        append_once(self.imap, self.path, message("Offer from Odoo", message_id=posted.message_id), posted.message_id)
        self.imap.select_folder(self.path)
        self.imap.add_flags(self.imap.search(["SUBJECT", "Read note"]), [b"\\Seen"])
        self.box = self.mailbox(self.path)
        self.sync(self.box)

    def on_server(self, subject):
        """The flags of ``subject`` in the test's folder (None: not there)."""
        self.imap.select_folder(self.path, readonly=True)
        uids = self.imap.search(["SUBJECT", subject])
        return set(self.imap.get_flags(uids)[uids[0]]) if uids else None

    def test_sent_rows_unread_rows_paperclips_and_a_star_that_stays(self):
        self.start_tour(MY_MAIL, "mail_connected_mailbox_tour_my_mail_client", login=self.user_ann.login)
        self.assertIn(b"\\Flagged", self.on_server("Read note"))  # the star reached the server
        starred = self.env["mail.mailbox.message"].search([("flagged", "=", True), ("mailbox_id", "=", self.box.id)])
        self.assertEqual(starred.mapped("subject"), ["Read note"])

    def test_delete_from_the_form_and_from_the_list(self):
        self.box.delete_on_server = True
        self.start_tour(MY_MAIL, "mail_connected_mailbox_tour_my_mail_delete", login=self.user_ann.login)
        left = self.env["mail.mailbox.message"].search([("mailbox_id", "=", self.box.id)]).mapped("subject")
        self.assertEqual(sorted(left), ["Offer from Odoo", "Read note"])
        self.assertIsNone(self.on_server("Unread offer"))  # moved to the mailbox's Trash
        self.assertIsNone(self.on_server("With attachment"))
        self.assertEqual(
            self.env["mail.mailbox.message.deleted"].search_count([("mailbox_id", "=", self.box.id)]), 2
        )  # remembered: no sync brings them back
