"""Held mail: what would leave through a mailbox that cannot send waits, queued and
visible, on every path that sends; it never fails for that, never takes another
server, never starves other mail, and leaves after a reconnect."""

import smtplib

from odoo.tests import tagged

from .common import MailboxCase, StackMixin

ALICE = "alice@mail.test"


@tagged("post_install", "-at_install")
class TestHeldMail(StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)
        cls.user_ann.email = ALICE
        cls.mailbox = cls.env["mail.mailbox"].with_user(cls.user_ann).create(cls.custom_values(cls, ALICE))
        cls.mailbox.action_connect()
        cls.good_password = cls.mailbox._get_secret("password")
        # the company's usual server (the local SMTP sink), for mail from other addresses
        cls.env["ir.mail_server"].create(
            {"name": "Company", "smtp_host": "127.0.0.1", "smtp_port": cls.stack["sink_port"], "sequence": 50}
        )

    def new_mail(self, sender=ALICE, **values):
        return (
            self.env["mail.mail"]
            .with_user(self.user_ann)  # written by the owner
            .sudo()
            .create(
                {
                    "email_from": sender,
                    "email_to": "lead@customer.test",
                    "subject": "Offer",
                    "body_html": "<p>Our offer</p>",
                    "auto_delete": False,
                    **values,
                }
            )
        )

    def lose_access(self):
        """The password changes at the server; Test connection finds it."""
        self.mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})
        self.mailbox.with_user(self.user_ann).action_test_connection()
        self.assertEqual(self.mailbox.state, "auth_lost")

    def reconnect(self):
        self.mailbox.with_user(self.user_ann).write({"password": self.good_password})
        self.mailbox.with_user(self.user_ann).action_reconnect()
        self.assertEqual(self.mailbox.state, "connected")

    def assertHeld(self, mail, words="access to alice@mail.test was lost"):
        self.assertEqual(mail.state, "outgoing")
        self.assertFalse(mail.failure_type)
        self.assertEqual(mail.mcm_mailbox_id, self.mailbox)
        self.assertIn(words, mail.mcm_hold_reason)

    # ------------------------------------------------------------------ tests
    def test_mail_waits_on_every_path_and_leaves_after_reconnect(self):
        queued = self.new_mail()  # queued before the loss
        self.lose_access()
        self.assertHeld(queued)  # held as soon as the loss is found
        fresh = self.new_mail()  # created during the loss
        self.assertHeld(fresh)
        fresh.send()  # the direct path (notifications, small mass mailings)
        self.env["mail.mail"].process_email_queue()  # the queue
        self.assertHeld(fresh)
        self.assertHeld(queued)
        self.assertEqual(self.mailbox.held_mail_count, 2)
        self.assertTrue(self.mailbox.held_mail_since)
        # another address is not held and does not take the mailbox's server
        other = self.new_mail("company@other.test")
        self.assertFalse(other.mcm_hold_reason)
        self.env["mail.mail"].process_email_queue()
        self.assertEqual(other.state, "sent")
        # reconnect: released, then sent by the queue, once
        self.reconnect()
        self.assertFalse((queued | fresh).filtered("mcm_hold_reason"))
        self.assertEqual(self.mailbox.held_mail_count, 0)
        notes = self.mailbox.message_ids.mapped("body")
        self.assertTrue(any("2 waiting messages leave now, oldest first" in note for note in notes), notes)
        self.env["mail.mail"].process_email_queue()
        self.assertEqual((queued | fresh).mapped("state"), ["sent", "sent"])

    def test_a_sign_in_refused_while_sending_holds_instead_of_failing(self):
        mail = self.new_mail()
        self.assertFalse(mail.mcm_hold_reason)
        self.mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})
        connection = smtplib.SMTP("127.0.0.1", self.stack["submission_port"], timeout=10)
        self.addCleanup(connection.close)
        refused = None
        try:  # what ir.mail_server.connect() does when Odoo sends the batch
            self.mailbox._get_mail_server()._smtp_login(connection, ALICE, "")
        except smtplib.SMTPAuthenticationError as exc:
            refused = exc
        self.assertEqual(getattr(refused, "smtp_code", None), 535, "the changed password was accepted")
        self.assertEqual(self.mailbox.state, "auth_lost")
        self.assertHeld(mail)
        # then Odoo writes the whole batch in exception: it stays held instead
        mail.write({"state": "exception", "failure_reason": "535 Authentication failed"})
        self.assertHeld(mail)

    def test_a_chatter_reply_is_held_not_failed(self):
        self.lose_access()
        self.user_ann.groups_id |= self.env.ref("sales_team.group_sale_salesman")
        customer = self.env["res.partner"].create({"name": "Customer", "email": "customer@customer.test"})
        lead = self.env["crm.lead"].create({"name": "Deal", "partner_id": customer.id, "user_id": self.user_ann.id})
        message = lead.with_user(self.user_ann).message_post(
            body="Here is our offer", partner_ids=customer.ids, message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        mail = self.env["mail.mail"].sudo().search([("mail_message_id", "=", message.id)])
        self.assertEqual(len(mail), 1)
        self.assertHeld(mail)
        notification = message.notification_ids.filtered(lambda n: n.res_partner_id == customer)
        self.assertEqual(notification.notification_status, "ready")  # not failed

    def test_held_mail_does_not_starve_the_queue(self):
        self.lose_access()
        Mail = self.env["mail.mail"].with_user(self.user_ann).sudo()  # written by the owner
        others = Mail.create(
            [
                {
                    "email_from": "company@other.test",
                    "email_to": f"c{n}@customer.test",
                    "subject": f"Other {n}",
                    "auto_delete": False,
                }
                for n in range(10)
            ]
        )
        values = {"email_from": ALICE, "email_to": "lead@customer.test", "body_html": "<p>x</p>"}
        held = Mail.create([dict(values, subject=f"Held {n}") for n in range(1500)])  # the newest
        self.assertEqual(len(held.filtered("mcm_hold_reason")), 1500)
        Mail.process_email_queue()  # takes the newest 1,000 first: the held ones must not be among them
        self.assertEqual(others.mapped("state"), ["sent"] * 10)
        self.assertEqual(set(held.mapped("state")), {"outgoing"})

    def test_archiving_the_mailbox_server_is_not_a_hold(self):
        self.lose_access()
        self.mailbox._get_mail_server().active = False
        mail = self.new_mail()
        self.assertFalse(mail.mcm_hold_reason)  # Odoo routes it through another server, as it says
