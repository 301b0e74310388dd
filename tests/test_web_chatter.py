"""The chatter in Chromium: a message that left through the mailbox names it (and its
Sent copy) in its envelope's popover; a held message shows as waiting, with why and
when it leaves, and posting while the mailbox cannot send says so at once. The
mailbox form and Preferences say when the Odoo email is not the mailbox's address,
and one click fixes it."""

from odoo.tests import HttpCase, tagged

from .common import StackHttpMixin, really_sending

ALICE = "alice@mail.test"


@tagged("post_install", "-at_install")
class TestWebChatter(StackHttpMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_ann.groups_id |= cls.env.ref("sales_team.group_sale_salesman")
        values = cls.custom_values(cls, ALICE, smtp_port=cls.stack["sink_submission_port"])
        cls.mailbox = cls.env["mail.mailbox"].with_user(cls.user_ann).create(values)
        cls.mailbox.with_user(cls.user_ann).action_connect()
        cls.customer = cls.env["res.partner"].create({"name": "Customer", "email": "customer@customer.test"})

    def setUp(self):
        super().setUp()
        self.assertEqual(self.mailbox.state, "connected", self.mailbox.last_error_cause)

    def post(self, body):
        message = (
            self.customer.with_user(self.user_ann)
            .with_context(mail_notify_force_send=False)
            .message_post(
                body=body, partner_ids=self.customer.ids, message_type="comment", subtype_xmlid="mail.mt_comment"
            )
        )
        return message, self.env["mail.mail"].sudo().search([("mail_message_id", "=", message.id)])

    def partner_url(self):
        return f"/odoo/contacts/{self.customer.id}"

    def test_a_sent_message_names_the_mailbox_it_went_through(self):
        self.mailbox.with_user(self.user_ann).action_mcm_send_my_mail_from_here()
        message, mail = self.post("Offer that left")
        with really_sending():
            mail.send()
        notification = message.notification_ids.filtered(lambda n: n.res_partner_id == self.customer)
        self.assertEqual((notification.notification_status, notification.mcm_mailbox_id), ("sent", self.mailbox))
        self.start_tour(self.partner_url(), "mail_connected_mailbox_tour_chatter_sent", login=self.user_ann.login)

    def test_a_held_message_shows_as_waiting_and_posting_says_so(self):
        self.mailbox.with_user(self.user_ann).action_mcm_send_my_mail_from_here()
        self.mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})
        self.mailbox.with_user(self.user_ann).action_test_connection()
        self.assertEqual(self.mailbox.state, "auth_lost")
        _message, mail = self.post("Offer that waits")
        self.assertTrue(mail.mcm_hold_reason)
        self.customer.message_subscribe(partner_ids=self.customer.ids)  # the UI post reaches the customer
        self.start_tour(self.partner_url(), "mail_connected_mailbox_tour_chatter_held", login=self.user_ann.login)
        self.env.invalidate_all()
        posted = self.customer.message_ids.filtered(lambda m: "Posted while it waits" in (m.body or ""))
        self.assertEqual(len(posted), 1)
        held = self.env["mail.mail"].sudo().search([("mail_message_id", "=", posted.id)])
        self.assertEqual((held.state, held.mcm_mailbox_id), ("outgoing", self.mailbox))
        self.assertTrue(held.mcm_hold_reason)

    def test_the_mailbox_form_says_the_odoo_email_differs_and_fixes_it_in_one_click(self):
        self.assertEqual(self.user_ann.email, "ann@example.com")
        url = f"/odoo/action-mail_connected_mailbox.mail_mailbox_action/{self.mailbox.id}"
        self.start_tour(url, "mail_connected_mailbox_tour_my_mail_address_form", login=self.user_ann.login)
        self.env.invalidate_all()
        self.assertEqual(self.user_ann.email, ALICE)

    def test_preferences_say_the_odoo_email_differs_and_fix_it_in_one_click(self):
        self.start_tour("/odoo", "mail_connected_mailbox_tour_my_mail_address_preferences", login=self.user_ann.login)
        self.env.invalidate_all()
        self.assertEqual(self.user_ann.email, ALICE)
