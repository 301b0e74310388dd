"""My Odoo mail goes through my mailbox, and I can see it did: when a salesperson's
Odoo email is not her mailbox's address, Odoo says so (at connect, on the mailbox, in
Preferences) and one click makes it so; her mail still to send takes the new address
and really leaves through the mailbox. The chatter is told which mailbox a message
went through (and of its Sent copy), or why it waits and when it leaves; posting
while her mailbox cannot send tells her at once."""

import json
import secrets

from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.mail.tools.discuss import Store

from ..mailbox_engine import imap as imap_lib
from .common import MailboxCase, StackMixin, really_sending, received_all

ALICE = "alice@mail.test"
BOB = "bob@mail.test"
ONE_CLICK = "Send my Odoo mail from this mailbox"


@tagged("post_install", "-at_install")
class TestMyMailAddress(StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)
        cls.user_ann.groups_id |= cls.env.ref("sales_team.group_sale_salesman")
        cls.user_ben.groups_id |= cls.env.ref("sales_team.group_sale_salesman")
        cls.customer = cls.env["res.partner"].create({"name": "Customer", "email": "customer@customer.test"})

    def setUp(self):
        super().setUp()
        self.subject = "Offer " + secrets.token_hex(4)

    def connect(self, address=ALICE):
        """Ann connects her custom mailbox (its SMTP is the local sink's submission port,
        which records who signed in); returns it and the connect result."""
        values = self.custom_values(address, smtp_port=self.stack["sink_submission_port"])
        mailbox = self.env["mail.mailbox"].with_user(self.user_ann).create(values)
        result = mailbox.with_user(self.user_ann).action_connect()
        self.assertEqual(mailbox.state, "connected", mailbox.last_error_cause)
        return mailbox, result

    def post(self, user=None):
        """A post in a contact's chatter to the customer, queued (not sent at once)."""
        user = user or self.user_ann
        message = (
            self.customer.with_user(user)
            .with_context(mail_notify_force_send=False)
            .message_post(
                body="<p>Our offer</p>",
                subject=self.subject,
                partner_ids=self.customer.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        )
        return message, self.env["mail.mail"].sudo().search([("mail_message_id", "=", message.id)])

    def chatter_data(self, message, user):
        """What the web client receives about ``message``'s email notifications, as ``user``."""
        store = Store(message.with_user(user), for_current_user=True)
        notifications = store.get_result()["mail.notification"]
        self.assertTrue(notifications)
        return notifications[0]

    # ------------------------------------------------------------------ the address
    def test_mismatch_is_said_at_connect_on_the_form_and_in_preferences_and_fixed_in_one_click(self):
        self.assertEqual(self.user_ann.email, "ann@example.com")
        mailbox, result = self.connect()
        # the connect result says it
        self.assertEqual(result["params"]["type"], "warning")
        self.assertIn("Your Odoo email is ann@example.com, not alice@mail.test", result["params"]["message"])
        self.assertIn(ONE_CLICK, result["params"]["message"])
        self.assertIn("Your Odoo email is ann@example.com", mailbox.message_ids[0].body)
        # the form and Preferences say it
        mine = mailbox.with_user(self.user_ann)
        self.assertFalse(mine.mcm_sends_my_mail)
        self.assertIn("does not go through this mailbox", mine.mcm_address_notice)
        self.assertIn(
            "none of your mailboxes (alice@mail.test)", self.user_ann.with_user(self.user_ann).mcm_address_notice
        )
        # a colleague may not make it his (nor Ann's) address
        with self.assertRaises(AccessError):
            mailbox.with_user(self.user_ben).action_mcm_send_my_mail_from_here()
        # one click
        answer = mine.action_mcm_send_my_mail_from_here()
        self.assertEqual(answer["params"]["type"], "success")
        self.assertEqual(self.user_ann.email, ALICE)
        self.assertEqual(self.user_ann.partner_id.email, ALICE)
        mine.invalidate_recordset()
        self.user_ann.invalidate_recordset()
        self.assertTrue(mine.mcm_sends_my_mail)
        self.assertFalse(mine.mcm_address_notice)
        self.assertFalse(self.user_ann.with_user(self.user_ann).mcm_address_notice)

    def test_with_two_mailboxes_one_is_where_my_mail_leaves_from(self):
        first, _result = self.connect()
        first.with_user(self.user_ann).action_mcm_send_my_mail_from_here()
        second = self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(BOB))
        self.assertTrue(first.mcm_sends_my_mail)
        self.assertFalse(second.mcm_sends_my_mail)
        self.assertIn("Your Odoo mail leaves from alice@mail.test", second.with_user(self.user_ann).mcm_address_notice)
        self.assertFalse(self.user_ann.with_user(self.user_ann).mcm_address_notice)  # it leaves from one of them
        # Preferences' button (a row of the list, in a dialog): it says so and opens Preferences again
        answer = second.with_user(self.user_ann).with_context(mcm_from_preferences=True)
        answer = answer.action_mcm_send_my_mail_from_here()
        self.assertEqual(answer["params"]["next"]["res_model"], "res.users")  # Preferences open again
        self.assertEqual(answer["params"]["next"]["res_id"], self.user_ann.id)
        (first | second).invalidate_recordset()
        self.assertEqual(self.user_ann.email, BOB)
        self.assertEqual((first.mcm_sends_my_mail, second.mcm_sends_my_mail), (False, True))

    def test_mail_still_to_send_from_the_old_address_leaves_through_the_mailbox(self):
        mailbox, _result = self.connect()
        message, mail = self.post()
        self.assertEqual(mail.email_from, '"Ann Seller" <ann@example.com>')  # not her mailbox: it would fail
        other = (
            self.env["mail.mail"]
            .with_user(self.user_ben)
            .sudo()
            .create(
                {
                    "email_from": "ann@example.com",
                    "email_to": "x@customer.test",
                    "subject": "Ben's",
                    "auto_delete": False,
                }
            )
        )
        mailbox.with_user(self.user_ann).action_mcm_send_my_mail_from_here()
        self.assertEqual(mail.email_from, '"Ann Seller" <alice@mail.test>')
        self.assertEqual(other.email_from, "ann@example.com")  # only what she wrote
        self.env["bus.bus"].sudo().search([]).unlink()
        with really_sending():
            self.env["mail.mail"].process_email_queue(ids=mail.ids)
        self.env.cr.precommit.run()  # the bus's messages are written when the transaction ends
        told = self.env["bus.bus"].sudo().search([("message", "ilike", "Sent through alice@mail.test")])
        self.assertTrue(told, "the chatter is not told at once which mailbox the message went through")
        (delivered,) = received_all(self, self.subject)
        self.assertEqual(delivered["X-Authenticated-As"], ALICE)  # through her mailbox, signed in as it
        notification = message.notification_ids.filtered(lambda n: n.res_partner_id == self.customer)
        self.assertEqual(notification.notification_status, "sent", notification.failure_reason)
        self.assertEqual(notification.mcm_mailbox_id, mailbox)
        self.assertTrue(notification.mcm_sent_copy)
        with imap_lib.session(mailbox._server("imap"), ALICE) as client:
            client.select_folder("Sent")
            self.assertEqual(len(client.search(["SUBJECT", self.subject])), 1)
        # the chatter names the mailbox and the copy; a colleague reads whose mailbox, not its address
        data = self.chatter_data(message, self.user_ann)
        self.assertEqual(data["mcm_through"], "Sent through alice@mail.test; a copy is in its Sent folder.")
        self.assertFalse(data["mcm_waiting"])
        seen_by_ben = self.chatter_data(message, self.user_ben)["mcm_through"]
        self.assertEqual(seen_by_ben, "Sent through the connected mailbox of Ann Seller; a copy is in its Sent folder.")

    def test_mail_held_for_the_old_mailbox_leaves_through_the_new_one(self):
        first, _result = self.connect()
        first.with_user(self.user_ann).action_mcm_send_my_mail_from_here()
        first.sudo()._set_secrets({"password": "changed-at-the-server"})
        first.with_user(self.user_ann).action_test_connection()
        self.assertEqual(first.state, "auth_lost")
        _message, mail = self.post()
        self.assertEqual(mail.mcm_mailbox_id, first)
        second, _result = self.connect(BOB)
        second.with_user(self.user_ann).action_mcm_send_my_mail_from_here()
        self.assertEqual(mail.email_from, '"Ann Seller" <bob@mail.test>')
        self.assertFalse(mail.mcm_hold_reason)  # no longer waits for the lost mailbox
        with really_sending():
            self.env["mail.mail"].process_email_queue(ids=mail.ids)
        (delivered,) = received_all(self, self.subject)
        self.assertEqual(delivered["X-Authenticated-As"], BOB)

    # ------------------------------------------------------------------ held mail
    def test_posting_while_the_mailbox_cannot_send_says_so_and_the_chatter_shows_it_waiting(self):
        mailbox, _result = self.connect()
        mailbox.with_user(self.user_ann).action_mcm_send_my_mail_from_here()
        mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})
        mailbox.with_user(self.user_ann).action_test_connection()
        self.assertEqual(mailbox.state, "auth_lost")
        self.env["bus.bus"].sudo().search([]).unlink()
        message, mail = self.post()
        self.assertEqual(mail.mcm_mailbox_id, mailbox)
        self.assertTrue(mail.mcm_hold_reason)
        # the poster is told at once, in Odoo
        self.env.cr.precommit.run()  # the bus's messages are written when the transaction ends
        sent = [json.loads(row.message) for row in self.env["bus.bus"].sudo().search([])]
        told = [m["payload"] for m in sent if m["type"] == "simple_notification"]
        self.assertEqual(len(told), 1, sent)
        self.assertEqual(told[0]["type"], "warning")
        self.assertIn("Your message waits", told[0]["title"])
        self.assertIn("Access to alice@mail.test was lost.", told[0]["message"])
        self.assertIn("It leaves when alice@mail.test is reconnected.", told[0]["message"])
        # the chatter: waiting, why, and when it leaves
        data = self.chatter_data(message, self.user_ann)
        self.assertEqual(data["notification_status"], "ready")
        self.assertTrue(data["mcm_waiting"])
        self.assertEqual(data["mcm_reason"], "Access to alice@mail.test was lost.")
        self.assertEqual(data["mcm_leaves"], "It leaves when alice@mail.test is reconnected.")
        self.assertFalse(data["mcm_through"])
        # Odoo's own work (OdooBot) tells nobody
        self.env["bus.bus"].sudo().search([]).unlink()
        self.env["mail.mail"].sudo().create({"email_from": ALICE, "email_to": "y@customer.test", "subject": "Auto"})
        self.env.cr.precommit.run()
        self.assertFalse(self.env["bus.bus"].sudo().search([("message", "ilike", "Your message waits")]))

    def test_which_mailbox_a_message_went_through_is_written_by_odoo_only(self):
        _message, mail = self.post()
        notification = self.env["mail.notification"].sudo().search([("mail_mail_id", "=", mail.id)])
        self.assertTrue(notification)
        mailbox, _result = self.connect()
        with self.assertRaisesRegex(AccessError, "Odoo records which mailbox a message went through itself"):
            notification.with_user(self.user_ann).write({"mcm_mailbox_id": mailbox.id})
