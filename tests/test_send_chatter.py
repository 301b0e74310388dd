"""What a salesperson does in Odoo leaves through their own mailbox, for real (Odoo
really connects and sends, in the test's transaction): a post in a lead's chatter with
an attachment reaches every recipient signed in as the user (the password of a custom
mailbox, XOAUTH2 for Google), with one copy in the custom mailbox's Sent folder; a
message with a Bcc keeps it out of the headers and in the Sent copy."""

import base64
import email
import secrets

from odoo.tests import HttpCase, tagged

from ..mailbox_engine import imap as imap_lib
from .common import OAuthSignInMixin, StackHttpMixin, really_sending, received_all

CAROL = "carol@mail.test"


@tagged("post_install", "-at_install")
class TestSendFromChatter(OAuthSignInMixin, StackHttpMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self.user_ann.groups_id += self.env.ref("sales_team.group_sale_salesman")
        Partner = self.env["res.partner"]
        self.lead_partner = Partner.create({"name": "Lead", "email": "lead@customer.test"})
        self.boss = Partner.create({"name": "Boss", "email": "boss@customer.test"})
        self.lead = self.env["crm.lead"].create(
            {"name": "Big deal", "partner_id": self.lead_partner.id, "user_id": self.user_ann.id}
        )

    def custom_mailbox(self):
        """Carol's mailbox: IMAP on Dovecot, SMTP straight to the local SMTP server, which
        records who signed in."""
        self.user_ann.email = CAROL
        values = self.custom_values(CAROL, smtp_port=self.stack["sink_submission_port"])
        mailbox = self.env["mail.mailbox"].with_user(self.user_ann).create(values)
        mailbox.with_user(self.user_ann).action_connect()
        self.assertEqual(mailbox.state, "connected", mailbox.last_error_cause)
        return mailbox

    def post_and_send(self, subject):
        """Ann posts on the lead's chatter to the lead and the boss; Odoo sends it."""
        message = (
            self.lead.with_user(self.user_ann)
            .with_context(mail_notify_force_send=False)
            .message_post(
                body="<p>Here is our offer.</p>",
                subject=subject,
                partner_ids=(self.lead_partner | self.boss).ids,
                attachments=[("offer.txt", b"the offer, attached")],
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        )
        mails = self.env["mail.mail"].sudo().search([("mail_message_id", "=", message.id)])
        self.assertTrue(mails)
        with really_sending():
            mails.send()  # sent mail is deleted (Odoo's notifications): their status tells
        notified = message.notification_ids.filtered(lambda n: n.notification_type == "email")
        self.assertEqual(len(notified), 2)
        self.assertEqual(set(notified.mapped("notification_status")), {"sent"}, notified.mapped("failure_reason"))

    def assertOffer(self, messages, sender, recipients):
        self.assertEqual(sorted(m["X-Envelope-To"] for m in messages), sorted(recipients))
        for message in messages:
            self.assertEqual(message["X-Envelope-From"], sender)
            files = {p.get_filename(): p.get_payload(decode=True) for p in message.walk() if p.get_filename()}
            self.assertEqual(files.get("offer.txt"), b"the offer, attached")

    # ------------------------------------------------------------------ tests
    def test_chatter_post_leaves_through_the_custom_mailbox_with_a_sent_copy(self):
        mailbox = self.custom_mailbox()
        subject = "Offer " + secrets.token_hex(4)
        self.post_and_send(subject)
        messages = received_all(self, subject)
        self.assertOffer(messages, CAROL, ["boss@customer.test", "lead@customer.test"])
        self.assertEqual({m["X-Authenticated-As"] for m in messages}, {CAROL})  # signed in as the user
        with imap_lib.session(mailbox._server("imap"), CAROL) as client:
            client.select_folder("Sent")
            self.assertEqual(len(client.search(["SUBJECT", subject])), 1)

    def test_chatter_post_leaves_through_gmail_with_xoauth2(self):
        address = f"seller-{secrets.token_hex(3)}@gmail.test"
        self.user_ann.email = address
        mailbox, response = self.connect(self.user_ann, "google", address)
        self.assertEqual((response.status_code, mailbox.state), (303, "connected"))
        subject = "Offer " + secrets.token_hex(4)
        self.post_and_send(subject)  # Dovecot's submission accepts only a live XOAUTH2 token
        self.assertOffer(received_all(self, subject), address, ["boss@customer.test", "lead@customer.test"])

    def test_bcc_stays_out_of_the_headers_and_in_the_sent_copy(self):
        mailbox = self.custom_mailbox()
        subject = "Offer " + secrets.token_hex(4)
        Servers = self.env["ir.mail_server"].with_user(self.user_ann).sudo()  # sent by the owner
        message = Servers.build_email(
            CAROL,
            ["lead@customer.test"],
            subject,
            "<p>Our offer</p>",
            email_bcc=["hidden@customer.test"],
            subtype="html",
            attachments=[("offer.txt", b"the offer, attached", "text/plain")],
        )
        with really_sending():
            Servers.send_email(message)
        (delivered,) = received_all(self, subject)
        self.assertEqual(delivered["X-Envelope-To"], "lead@customer.test, hidden@customer.test")
        self.assertIsNone(delivered["Bcc"])
        with imap_lib.session(mailbox._server("imap"), CAROL) as client:
            client.select_folder("Sent")
            (uid,) = client.search(["SUBJECT", subject])
            copy = email.message_from_bytes(client.fetch([uid], ["RFC822"])[uid][b"RFC822"])
        self.assertEqual(copy["Bcc"], "hidden@customer.test")
        self.assertEqual(base64.b64decode(copy.get_payload()[1].get_payload()), b"the offer, attached")
